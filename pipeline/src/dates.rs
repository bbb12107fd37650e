//! Calendar helpers shared by validation, fixtures and the indicators.

use chrono::{Datelike, NaiveDate};

/// The committed sample's extract date: the default when no --input is given, and the
/// fixture generator's default.
pub const SAMPLE_EXTRACT_DATE: &str = "2026-11-01";

/// Days since 1970-01-01, the Arrow Date32 / Parquet DATE representation.
pub fn to_days(d: NaiveDate) -> i32 {
    let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or_default();
    (d - epoch).num_days() as i32
}

pub fn from_days(days: i32) -> NaiveDate {
    let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or_default();
    epoch + chrono::Duration::days(days as i64)
}

/// A calendar date; `None` only for impossible dates.
pub fn ymd(y: i32, m: u32, d: u32) -> Option<NaiveDate> {
    NaiveDate::from_ymd_opt(y, m, d)
}

/// Age in whole years on day `on` (methodology.md, "Calendar": a person born on
/// 29 February has a birthday on 1 March in other years).
pub fn age_on(birth: NaiveDate, on: NaiveDate) -> i32 {
    let mut age = on.year() - birth.year();
    let birthday_this_year = birthday_in(birth, on.year());
    if on < birthday_this_year {
        age -= 1;
    }
    age
}

/// The birthday of a person born on `birth` in year `y` (29 February → 1 March in
/// years that are not leap years).
pub fn birthday_in(birth: NaiveDate, y: i32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, birth.month(), birth.day())
        .or_else(|| NaiveDate::from_ymd_opt(y, 3, 1))
        .unwrap_or(birth)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        ymd(y, m, day).unwrap()
    }

    #[test]
    fn day_numbers_round_trip() {
        assert_eq!(to_days(d(1970, 1, 1)), 0);
        assert_eq!(to_days(d(2024, 2, 29)), 19782);
        assert_eq!(from_days(19782), d(2024, 2, 29));
    }

    #[test]
    fn leap_day_birthdays_fall_on_1_march() {
        let b = d(2008, 2, 29);
        assert_eq!(age_on(b, d(2026, 2, 28)), 17);
        assert_eq!(age_on(b, d(2026, 3, 1)), 18);
        assert_eq!(age_on(b, d(2028, 2, 29)), 20);
        assert_eq!(age_on(d(2000, 10, 1), d(2018, 10, 1)), 18);
        assert_eq!(age_on(d(2000, 10, 2), d(2018, 10, 1)), 17);
    }
}
