//! Danish number formatting, as the reports show numbers: decimal comma, `.` between
//! thousands, a space before `%` (Retskrivningsordbogen / Danmarks Statistik style),
//! and a real minus sign. Registered as minijinja filters by [`super::templates`].
//! Also the one escape of text written into HTML or SVG outside the templates (which
//! minijinja escapes itself).

/// Text for HTML or SVG markup: `&`, `<`, `>` and `"` escaped.
pub fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// `0.452` → `45,2 %`.
pub fn percent(share: f64) -> String {
    format!("{} %", decimal(share * 100.0, 1))
}

/// A share in whole percent, as page 1's sentences say it: `0.452` → `45 %`.
pub fn percent_whole(share: f64) -> String {
    format!("{} %", decimal(share * 100.0, 0))
}

/// A figure as tables print it: a share as [`percent`], a mean as [`grade`].
pub fn figure(x: f64, share: bool) -> String {
    if share { percent(x) } else { grade(x) }
}

/// A figure as sentences and legends say it: a share as [`percent_whole`], a mean as
/// [`grade`].
pub fn figure_whole(x: f64, share: bool) -> String {
    if share { percent_whole(x) } else { grade(x) }
}

/// A mean grade: `7.4321` → `7,4`.
pub fn grade(mean: f64) -> String {
    decimal(mean, 1)
}

/// A difference of shares in percentage points: `-0.123` → `−12,3`.
pub fn points(diff: f64) -> String {
    decimal(diff * 100.0, 1)
}

/// A whole number: `12345` → `12.345`.
pub fn integer(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push('.');
        }
        out.push(ch);
    }
    if n < 0 { format!("−{out}") } else { out }
}

/// `x` with `places` decimals, decimal comma, thousands separator, minus sign `−`.
/// Negative zero after rounding is shown as `0,0`.
pub fn decimal(x: f64, places: usize) -> String {
    let s = format!("{:.*}", places, x.abs());
    let (whole, frac) = s.split_once('.').unwrap_or((&s, ""));
    let whole: i64 = whole.parse().unwrap_or(0);
    let negative = x < 0.0 && s.chars().any(|c| c.is_ascii_digit() && c != '0');
    let body = if frac.is_empty() {
        integer(whole)
    } else {
        format!("{},{frac}", integer(whole))
    };
    if negative { format!("−{body}") } else { body }
}

/// A CSV number as Danish Excel and LibreOffice read it: `places` decimals, decimal
/// comma, no thousands separator, an ASCII minus (none on a value that rounds to 0).
pub fn csv_number(x: f64, places: usize) -> String {
    let s = format!("{x:.places$}");
    let s = if s.chars().all(|c| matches!(c, '-' | '0' | '.')) {
        s.trim_start_matches('-').to_string()
    } else {
        s
    };
    s.replace('.', ",")
}

/// A date in Danish: `2026-11-01` → `1. november 2026`.
pub fn date(d: chrono::NaiveDate) -> String {
    use chrono::Datelike;
    const MONTHS: [&str; 12] = [
        "januar",
        "februar",
        "marts",
        "april",
        "maj",
        "juni",
        "juli",
        "august",
        "september",
        "oktober",
        "november",
        "december",
    ];
    format!("{}. {} {}", d.day(), MONTHS[d.month0() as usize], d.year())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_are_danish_percentages() {
        assert_eq!(percent(0.452), "45,2 %");
        assert_eq!(percent(1.0), "100,0 %");
        assert_eq!(percent(0.0), "0,0 %");
        assert_eq!(percent(0.12345), "12,3 %");
    }

    #[test]
    fn differences_carry_a_real_minus_sign() {
        assert_eq!(points(-0.123), "−12,3");
        assert_eq!(points(0.05), "5,0");
        // -0.04 percentage points rounds to zero: no minus.
        assert_eq!(points(-0.0004), "0,0");
    }

    #[test]
    fn thousands_are_separated_by_a_dot() {
        assert_eq!(integer(0), "0");
        assert_eq!(integer(999), "999");
        assert_eq!(integer(1000), "1.000");
        assert_eq!(integer(1234567), "1.234.567");
        assert_eq!(decimal(12345.678, 1), "12.345,7");
        assert_eq!(grade(7.04), "7,0");
    }

    #[test]
    fn csv_numbers_use_a_decimal_comma() {
        assert_eq!(csv_number(45.2, 1), "45,2");
        assert_eq!(csv_number(1234.56, 1), "1234,6");
        assert_eq!(csv_number(-0.75, 1), "-0,8");
        assert_eq!(csv_number(-0.01, 1), "0,0");
    }

    #[test]
    fn dates_are_written_out() {
        let d = chrono::NaiveDate::from_ymd_opt(2026, 11, 1).expect("date");
        assert_eq!(date(d), "1. november 2026");
    }
}
