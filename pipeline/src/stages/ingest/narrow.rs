//! Narrowing: a file's column, in whatever integer width, string encoding or date unit
//! the contract accepts ([`Kind::accepts`]), read as its canonical type — and every
//! value that does not fit reported, never turned into NULL or wrapped around.
//!
//! Integers arrive as any signed or unsigned width and are read as Int64: only an
//! unsigned 64-bit value above `i64::MAX` does not fit. Dates arrive as Date32 (days)
//! or Date64 (milliseconds) and are read as Date32: a Date64 whose day does not fit in
//! 32 bits does not fit. A value that does not fit becomes NULL in the canonical column
//! *and* is reported with its row and its original value as text; the row is then
//! rejected with reason `value_out_of_range`, its original value kept in the
//! quarantine (docs/validation.md).

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, Date32Array, Int64Array};
use datafusion::arrow::compute::cast_with_options;
use datafusion::arrow::datatypes::{DataType, Date64Type, UInt64Type};
use datafusion::arrow::error::ArrowError;

use crate::contract::Kind;

/// Milliseconds in a day (Date64 → Date32).
const MS_PER_DAY: i64 = 86_400_000;

/// A column in its canonical type, and the rows whose value did not fit: (row in the
/// batch, the original value as text).
#[derive(Debug)]
pub struct Narrowed {
    pub array: ArrayRef,
    pub misfits: Vec<(usize, String)>,
}

/// Whether a column of type `t` can hold a value that does not fit `kind`'s canonical
/// type (so its values must be looked at even when the query does not read it).
pub fn can_misfit(t: &DataType) -> bool {
    matches!(t, DataType::UInt64 | DataType::Date64)
}

/// Reads `array` (of a type `kind` accepts) as `kind`'s canonical type.
pub fn narrow(array: &ArrayRef, kind: Kind) -> Result<Narrowed, ArrowError> {
    let mut misfits = Vec::new();
    let array: ArrayRef = match (kind, array.data_type()) {
        (Kind::Int, DataType::UInt64) => {
            let values = array.as_primitive::<UInt64Type>();
            let out: Int64Array = values
                .iter()
                .enumerate()
                .map(|(i, v)| {
                    v.and_then(|v| match i64::try_from(v) {
                        Ok(v) => Some(v),
                        Err(_) => {
                            misfits.push((i, v.to_string()));
                            None
                        }
                    })
                })
                .collect();
            Arc::new(out)
        }
        (Kind::Date, DataType::Date64) => {
            let values = array.as_primitive::<Date64Type>();
            let out: Date32Array = values
                .iter()
                .enumerate()
                .map(|(i, v)| {
                    v.and_then(|ms| match i32::try_from(ms.div_euclid(MS_PER_DAY)) {
                        Ok(days) => Some(days),
                        Err(_) => {
                            misfits.push((i, format!("{ms} ms (Date64)")));
                            None
                        }
                    })
                })
                .collect();
            Arc::new(out)
        }
        // Every other accepted type widens without loss (a failure is an error, not
        // a NULL).
        _ => cast_strict(array, &kind.canonical())?,
    };
    Ok(Narrowed { array, misfits })
}

/// A cast that fails rather than turn a value into NULL.
fn cast_strict(array: &ArrayRef, to: &DataType) -> Result<ArrayRef, ArrowError> {
    let options = datafusion::arrow::compute::CastOptions {
        safe: false,
        ..Default::default()
    };
    if array.data_type() == to {
        return Ok(Arc::clone(array));
    }
    cast_with_options(array, to, &options)
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::{Date64Array, Int8Array, StringArray, UInt64Array};

    #[test]
    fn unsigned_values_above_i64_max_are_reported_not_nulled() {
        let a: ArrayRef = Arc::new(UInt64Array::from(vec![
            Some(7),
            None,
            Some(u64::MAX),
            Some(i64::MAX as u64),
            Some(i64::MAX as u64 + 1),
        ]));
        let n = narrow(&a, Kind::Int).expect("narrow");
        let got = n
            .array
            .as_primitive::<datafusion::arrow::datatypes::Int64Type>();
        assert_eq!(
            got.iter().collect::<Vec<_>>(),
            vec![Some(7), None, None, Some(i64::MAX), None]
        );
        assert_eq!(
            n.misfits,
            vec![
                (2, "18446744073709551615".to_string()),
                (4, "9223372036854775808".to_string())
            ]
        );
    }

    #[test]
    fn date64_days_that_do_not_fit_are_reported_not_wrapped() {
        // 2023-09-05 is day 19605; one millisecond before day 0 is day −1.
        let a: ArrayRef = Arc::new(Date64Array::from(vec![
            Some(19_605 * MS_PER_DAY),
            Some(-1),
            Some(i64::MAX),
            Some(i64::MIN),
        ]));
        let n = narrow(&a, Kind::Date).expect("narrow");
        let got = n
            .array
            .as_primitive::<datafusion::arrow::datatypes::Date32Type>();
        assert_eq!(
            got.iter().collect::<Vec<_>>(),
            vec![Some(19_605), Some(-1), None, None]
        );
        assert_eq!(n.misfits.len(), 2);
        assert_eq!(n.misfits[0], (2, format!("{} ms (Date64)", i64::MAX)));
    }

    #[test]
    fn narrower_types_widen_without_reports() {
        let a: ArrayRef = Arc::new(Int8Array::from(vec![Some(-128), None]));
        let n = narrow(&a, Kind::Int).expect("narrow");
        assert!(n.misfits.is_empty());
        assert_eq!(n.array.data_type(), &DataType::Int64);
        let s: ArrayRef = Arc::new(StringArray::from(vec!["M"]));
        assert_eq!(narrow(&s, Kind::Str).expect("narrow").array.len(), 1);
        assert!(can_misfit(&DataType::UInt64) && !can_misfit(&DataType::UInt32));
    }
}
