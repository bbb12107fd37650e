//! `indikatorer.csv` as Danish Excel and LibreOffice open it with a double click: UTF-8
//! with a byte order mark, `;` between fields, decimal comma, Danish headings. Each row
//! is dated (extract date and data version), so a CSV taken out of its bundle can be
//! placed. Shares are percentages rounded as the report prints them (one decimal), a
//! mean one decimal; the exact counts are in "Tæller" and "Nævner". A withheld figure
//! is an empty cell with "diskretioneret" in "Status", never text in a number column.

use datafusion::arrow::array::RecordBatch;

use super::{Basis, format, texts};
use crate::cells::Columns;
use crate::error::{Error, Result};

/// The headings, in order.
pub const HEADINGS: [&str; 19] = [
    "Indikator",
    "Indikator-id",
    "Periode",
    "Antal år",
    "År",
    "Niveau",
    "Områdekode",
    "Område",
    "Gruppe",
    "Anbringelse",
    "Status",
    "Værdi",
    "Nedre grænse (95 %)",
    "Øvre grænse (95 %)",
    "Enhed",
    "Tæller",
    "Nævner",
    "Udtræksdato",
    "Dataversion",
];

/// "Status" of a withheld row.
pub const WITHHELD: &str = "diskretioneret";
/// "Status" of a published row.
pub const PUBLISHED: &str = "offentliggjort";

/// The placement column: the placement breakdown applies to anbragte only.
fn placement_label(group: &str, placement: &str) -> String {
    match (group, placement) {
        ("anbragt", _) => texts::placement_name(placement),
        (_, "alle") => "Ikke opdelt".to_string(),
        (_, other) => texts::placement_name(other),
    }
}

pub fn danish_csv(cells: &RecordBatch, basis: &Basis) -> Result<Vec<u8>> {
    let columns = Columns::of(cells, "indikatorer.csv's cells", None)?;
    let mut out = b"\xEF\xBB\xBF".to_vec();
    {
        let mut w = ::csv::WriterBuilder::new()
            .delimiter(b';')
            .terminator(::csv::Terminator::CRLF)
            .from_writer(&mut out);
        let err = |e: ::csv::Error| Error::internal("writing indikatorer.csv", e);
        w.write_record(HEADINGS).map_err(err)?;
        let extract_date = basis.extract_date.to_string();
        for r in columns.rows() {
            let text = texts::indicator(r.indicator);
            let share = text.is_none_or(|t| t.share);
            // As printed: a share in percent with one decimal, a mean with one decimal.
            let number = |v: Option<f64>| match v {
                Some(x) if !r.suppressed && share => format::csv_number(x * 100.0, 1),
                Some(x) if !r.suppressed => format::csv_number(x, 1),
                _ => String::new(),
            };
            let count = |v: Option<i64>| match v {
                Some(n) if !r.suppressed => n.to_string(),
                _ => String::new(),
            };
            let record = [
                text.map_or("", |t| t.title).to_string(),
                r.indicator.to_string(),
                r.period.to_string(),
                r.years.to_string(),
                r.year.to_string(),
                r.geo_level.to_string(),
                r.geo_code.to_string(),
                r.geo_name.to_string(),
                texts::group_name(r.group).to_string(),
                placement_label(r.group, r.placement),
                if r.suppressed { WITHHELD } else { PUBLISHED }.to_string(),
                number(r.value),
                number(r.ci_low),
                number(r.ci_high),
                if share {
                    "procent"
                } else {
                    "karaktergennemsnit"
                }
                .to_string(),
                count(r.numerator),
                count(r.denominator),
                extract_date.clone(),
                basis.data_version.clone(),
            ];
            w.write_record(&record).map_err(err)?;
        }
        w.flush()
            .map_err(|e| Error::internal("writing indikatorer.csv", e))?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_placement_breakdown_is_named_only_for_anbragte() {
        assert_eq!(placement_label("anbragt", "alle"), "Alle anbragte");
        assert_eq!(placement_label("anbragt", "institution"), "Institution");
        assert_eq!(placement_label("udsat", "alle"), "Ikke opdelt");
        assert_eq!(placement_label("oevrige", "alle"), "Ikke opdelt");
    }
}
