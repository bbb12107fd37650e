//! `indikatorer.csv` as Danish Excel opens it with a double click: UTF-8 with a byte
//! order mark, `;` between fields, decimal comma, Danish headings. Withheld figures are
//! "–", never empty or 0.

use datafusion::arrow::array::{Array, AsArray, RecordBatch};
use datafusion::arrow::datatypes::{Float64Type, Int32Type, Int64Type};

use super::{format, texts};
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
    let col = |n: &str| super::model::column(cells, n);
    let ind = col("indicator")?.as_string::<i32>();
    let period = col("period")?.as_string::<i32>();
    let year = col("year")?.as_primitive::<Int32Type>();
    let level = col("geo_level")?.as_string::<i32>();
    let code = col("geo_code")?.as_primitive::<Int32Type>();
    let name = col("geo_name")?.as_string::<i32>();
    let group = col("group")?.as_string::<i32>();
    let placement = col("placement")?.as_string::<i32>();
    let num = col("numerator")?.as_primitive::<Int64Type>();
    let den = col("denominator")?.as_primitive::<Int64Type>();
    let value = col("value")?.as_primitive::<Float64Type>();
    let low = col("ci_low")?.as_primitive::<Float64Type>();
    let high = col("ci_high")?.as_primitive::<Float64Type>();
    let suppressed = col("suppressed")?.as_boolean();
    let years = col("years")?.as_primitive::<Int32Type>();

    let mut out = b"\xEF\xBB\xBF".to_vec();
    {
        let mut w = ::csv::WriterBuilder::new()
            .delimiter(b';')
            .terminator(::csv::Terminator::CRLF)
            .from_writer(&mut out);
        let err = |e: ::csv::Error| Error::internal("writing indikatorer.csv", e);
        w.write_record(HEADINGS).map_err(err)?;
        for i in 0..cells.num_rows() {
            let withheld = suppressed.value(i);
            // A null number is "–" when withheld (a mean has no numerator: blank).
            let shown = |null: bool, text: String| match (null, withheld) {
                (false, _) => text,
                (true, true) => WITHHELD.to_string(),
                (true, false) => String::new(),
            };
            let int = |a: &datafusion::arrow::array::Int64Array| {
                shown(a.is_null(i), a.value(i).to_string())
            };
            let float = |a: &datafusion::arrow::array::Float64Array| {
                shown(a.is_null(i), format::csv_number(a.value(i)))
            };
            let title = texts::indicator(ind.value(i)).map_or("", |t| t.title);
            let record = [
                title.to_string(),
                ind.value(i).to_string(),
                period.value(i).to_string(),
                year.value(i).to_string(),
                level.value(i).to_string(),
                code.value(i).to_string(),
                name.value(i).to_string(),
                texts::group_name(group.value(i)).to_string(),
                texts::placement_name(placement.value(i)),
                int(num),
                int(den),
                float(value),
                float(low),
                float(high),
                years.value(i).to_string(),
                if withheld { "ja" } else { "nej" }.to_string(),
            ];
            w.write_record(&record).map_err(err)?;
        }
        w.flush()
            .map_err(|e| Error::internal("writing indikatorer.csv", e))?;
    }
    Ok(out)
}
