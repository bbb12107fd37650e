//! `indikatorer.csv` as Danish Excel opens it with a double click: UTF-8 with a byte
//! order mark, `;` between fields, decimal comma, Danish headings. Withheld figures are
//! "–", never empty or 0.

use datafusion::arrow::array::RecordBatch;

use super::{format, texts};
use crate::cells::Columns;
use crate::error::{Error, Result};

/// The headings, in order; one per contract column plus the indicator's Danish name.
pub const HEADINGS: [&str; 16] = [
    "Indikator",
    "Indikator-id",
    "Periode",
    "År",
    "Niveau",
    "Områdekode",
    "Område",
    "Gruppe",
    "Anbringelse",
    "Tæller",
    "Nævner",
    "Værdi (andel 0-1 eller karaktergennemsnit)",
    "Nedre grænse (95 %)",
    "Øvre grænse (95 %)",
    "Antal år",
    "Diskretioneret",
];

pub const WITHHELD: &str = "–";

pub fn danish_csv(cells: &RecordBatch) -> Result<Vec<u8>> {
    let columns = Columns::of(cells, "indikatorer.csv's cells", None)?;

    let mut out = b"\xEF\xBB\xBF".to_vec();
    {
        let mut w = ::csv::WriterBuilder::new()
            .delimiter(b';')
            .terminator(::csv::Terminator::CRLF)
            .from_writer(&mut out);
        let err = |e: ::csv::Error| Error::internal("writing indikatorer.csv", e);
        w.write_record(HEADINGS).map_err(err)?;
        for r in columns.rows() {
            // A null number is "–" when withheld (a mean has no numerator: blank).
            let shown = |text: Option<String>| match (text, r.suppressed) {
                (Some(text), _) => text,
                (None, true) => WITHHELD.to_string(),
                (None, false) => String::new(),
            };
            let int = |v: Option<i64>| shown(v.map(|v| v.to_string()));
            let float = |v: Option<f64>| shown(v.map(format::csv_number));
            let title = texts::indicator(r.indicator).map_or("", |t| t.title);
            let record = [
                title.to_string(),
                r.indicator.to_string(),
                r.period.to_string(),
                r.year.to_string(),
                r.geo_level.to_string(),
                r.geo_code.to_string(),
                r.geo_name.to_string(),
                texts::group_name(r.group).to_string(),
                texts::placement_name(r.placement),
                int(r.numerator),
                int(r.denominator),
                float(r.value),
                float(r.ci_low),
                float(r.ci_high),
                r.years.to_string(),
                if r.suppressed { "ja" } else { "nej" }.to_string(),
            ];
            w.write_record(&record).map_err(err)?;
        }
        w.flush()
            .map_err(|e| Error::internal("writing indikatorer.csv", e))?;
    }
    Ok(out)
}
