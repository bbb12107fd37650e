//! Page 1's message: for each key indicator a few plain Danish sentences, generated from
//! the published cells only — the kommune's figure for its udsatte with the number of
//! persons, Danmark's and the region's, a verdict that respects the uncertainty, the gap
//! to the kommune's øvrige and the direction over the last two three-year periods.
//!
//! The rules (docs/reports.md, "Page 1"):
//! - **Which figure.** The latest yearly figure; the latest three-year figure instead
//!   when the yearly one is withheld or its 95 % interval is wider than
//!   [`WIDE_SHARE`] (30 percentage points) or [`WIDE_MEAN`] (2 grade points). Danmark,
//!   the region and the øvrige are then quoted for the same period.
//! - **Verdict.** "lavere/højere end i hele landet" only when Danmark's figure lies
//!   outside the kommune's 95 % interval; "på niveau med landet" only when the whole
//!   interval lies within [`LEVEL_SHARE`] (5 percentage points) or [`LEVEL_MEAN`] (0.5
//!   grade points) of Danmark's figure; otherwise the difference "kan ikke skelnes fra
//!   tilfældige udsving".
//! - **Direction.** Over the last two published three-year figures of the kommune's
//!   udsatte: "steget"/"faldet" only when their 95 % intervals do not overlap.

use serde::Serialize;

use super::format;
use super::model::{Area, Figure, Published};
use crate::registry;

/// A yearly share's interval wider than this (0–1 scale) is "wide".
pub const WIDE_SHARE: f64 = 0.30;
/// A yearly mean's interval wider than this (grade points) is "wide".
pub const WIDE_MEAN: f64 = 2.0;
/// "På niveau med landet": the interval within this of Danmark's share.
pub const LEVEL_SHARE: f64 = 0.05;
/// "På niveau med landet": the interval within this of Danmark's mean.
pub const LEVEL_MEAN: f64 = 0.5;

/// One key indicator's message.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Headline {
    pub title: String,
    pub sentences: Vec<String>,
}

/// How the kommune's figure compares with Danmark's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Below,
    Above,
    Level,
    CannotTell,
}

/// The verdict for a kommune figure with 95 % interval [`low`, `high`] against
/// Danmark's figure `national` (`level`: the equivalence margin).
pub fn verdict(low: f64, high: f64, national: f64, level: f64) -> Verdict {
    if national > high {
        Verdict::Below
    } else if national < low {
        Verdict::Above
    } else if low >= national - level && high <= national + level {
        Verdict::Level
    } else {
        Verdict::CannotTell
    }
}

/// A published figure with a value.
fn valued(f: Option<&Figure>) -> Option<&Figure> {
    f.filter(|f| !f.suppressed && f.value.is_some())
}

/// The indicator as page 1 speaks of it.
struct Speech<'a> {
    id: &'a str,
    share: bool,
    persons: &'a str,
    phrase: &'a str,
}

impl Speech<'_> {
    fn number(&self, x: f64) -> String {
        format::figure_whole(x, self.share)
    }

    /// "andelen" or "gennemsnittet".
    fn noun(&self) -> &'static str {
        if self.share {
            "andelen"
        } else {
            "gennemsnittet"
        }
    }

    /// "33–43 %" or "6,1–7,2".
    fn interval(&self, f: &Figure) -> Option<String> {
        let (low, high) = (f.low?, f.high?);
        Some(if self.share {
            format!(
                "{}–{} %",
                format::decimal(low * 100.0, 0),
                format::decimal(high * 100.0, 0)
            )
        } else {
            format!("{}–{}", format::grade(low), format::grade(high))
        })
    }
}

/// "i skoleåret 2023/2024", "i 2024", "i skoleårene 2021/2022–2023/2024 samlet",
/// "i årene 2021–2023 samlet".
pub fn period_phrase(period: &str, years: i32) -> String {
    format!("i {}", period_noun(period, years))
}

/// A period as a noun phrase: "skoleåret 2023/2024", "2024", "skoleårene
/// 2021/2022–2023/2024 samlet", "årene 2021–2023 samlet".
pub fn period_noun(period: &str, years: i32) -> String {
    match (period.contains('/'), years) {
        (true, 3) => format!("skoleårene {period} samlet"),
        (true, _) => format!("skoleåret {period}"),
        (false, 3) => format!("årene {period} samlet"),
        (false, _) => period.to_string(),
    }
}

/// The (years, last year, period) page 1 uses for the kommune's udsatte.
fn chosen_period(p: &Published, s: &Speech, kommune: i32) -> Option<(i32, i32, String)> {
    let yearly = p.latest_of(s.id, 1);
    let window = p.latest_of(s.id, 3);
    let usable = |years: i32, year: i32| {
        valued(p.get_years(s.id, years, year, kommune, "udsat", "alle")).is_some()
    };
    let wide = |year: i32| {
        p.get_years(s.id, 1, year, kommune, "udsat", "alle")
            .and_then(|f| Some(f.high? - f.low?))
            .is_some_and(|w| w > if s.share { WIDE_SHARE } else { WIDE_MEAN })
    };
    match (yearly, window) {
        (Some((y, per)), _) if usable(1, y) && !wide(y) => Some((1, y, per)),
        (_, Some((y, per))) if usable(3, y) => Some((3, y, per)),
        (Some((y, per)), _) => Some((1, y, per)),
        (None, Some((y, per))) => Some((3, y, per)),
        (None, None) => None,
    }
}

/// The message of one key indicator for a kommune.
pub fn headline(
    p: &Published,
    indicator: &registry::Indicator,
    kommune: &Area,
    region: &Area,
) -> Option<Headline> {
    let s = Speech {
        id: &indicator.id,
        share: indicator.measure == registry::Measure::Share,
        persons: indicator.persons.as_deref()?,
        phrase: indicator.phrase.as_deref()?,
    };
    let (years, year, period) = chosen_period(p, &s, kommune.code)?;
    let when = period_phrase(&period, years);
    let get = |geo: i32, group: &str| p.get_years(s.id, years, year, geo, group, "alle");
    let national = valued(get(0, "udsat"));
    let mut sentences = Vec::new();
    let own = get(kommune.code, "udsat");
    match valued(own) {
        Some(f) => {
            sentences.push(lead(&s, f, kommune, &when));
            if let Some(n) = national {
                sentences.push(comparison(
                    &s,
                    f,
                    n,
                    region,
                    valued(get(region.code, "udsat")),
                ));
            }
            if let Some(o) = valued(get(kommune.code, "oevrige")) {
                sentences.push(gap(&s, f, o));
            }
        }
        None => {
            sentences.push(match own {
                None => format!(
                    "Der var ingen udsatte {} i {} {when}.",
                    s.persons, kommune.name
                ),
                Some(_) => withheld(p, &s, kommune, (years, &period)),
            });
            if let Some(v) = national.and_then(|n| n.value) {
                sentences.push(format!(
                    "I hele landet var {} for de udsatte {} {} {when}.",
                    s.noun(),
                    s.persons,
                    s.number(v)
                ));
            }
        }
    }
    if let Some(d) = direction(p, &s, kommune.code) {
        sentences.push(d);
    }
    Some(Headline {
        title: indicator.title.clone(),
        sentences,
    })
}

/// "Datagrundlag": how many children and young people the key indicators' latest
/// yearly figures for `area` count, and how many of them are udsatte, from the
/// published denominators only ("Skoleåret 2025/2026: 1.234 elever i 9. klasse, heraf
/// 98 udsatte."). One line per population and period; withheld counts are said so.
pub fn counts(p: &Published, key: &[&registry::Indicator], area: &Area) -> Vec<String> {
    let mut seen: Vec<(String, String)> = Vec::new();
    let mut lines = Vec::new();
    for indicator in key {
        let Some(persons) = indicator.persons.as_deref() else {
            continue;
        };
        let Some((year, period)) = p.latest_of(&indicator.id, 1) else {
            continue;
        };
        if seen.contains(&(persons.to_string(), period.clone())) {
            continue;
        }
        seen.push((persons.to_string(), period.clone()));
        let n = |group: &str| {
            p.get(&indicator.id, year, area.code, group, "alle")
                .map(|f| valued(Some(f)).and_then(|f| f.denominator))
        };
        let when = capitalise(&period_noun(&period, 1));
        let all = match n("alle") {
            Some(Some(n)) => format!("{} {persons}", format::integer(n)),
            Some(None) => format!("antallet af {persons} er diskretioneret"),
            None => format!("ingen {persons}"),
        };
        let udsatte = match n("udsat") {
            Some(Some(n)) => format!(", heraf {} udsatte", format::integer(n)),
            Some(None) => ", antallet af udsatte er diskretioneret".to_string(),
            None => ", ingen udsatte".to_string(),
        };
        lines.push(format!("{when}: {all}{udsatte}."));
    }
    lines
}

/// The sentence for a kommune whose udsatte figure is withheld, naming the three-year
/// figure when that is withheld too.
fn withheld(p: &Published, s: &Speech, kommune: &Area, (years, period): (i32, &str)) -> String {
    let window = p.latest_of(s.id, 3).filter(|(y, _)| {
        years == 1
            && p.get_years(s.id, 3, *y, kommune.code, "udsat", "alle")
                .is_some_and(|f| f.suppressed)
    });
    let when = match window {
        Some((_, w)) => format!(
            "for både {} og {}",
            period_noun(period, 1),
            period_noun(&w, 3)
        ),
        None => period_phrase(period, years),
    };
    format!(
        "Tallene for de udsatte {} i {} er diskretioneret {when}: de bygger på så få personer, at de ikke kan offentliggøres uden at kunne røbe oplysninger om enkeltpersoner.",
        s.persons, kommune.name
    )
}

/// "45 % af de udsatte elever i 9. klasse i Herning Kommune fik … i skoleåret
/// 2023/2024 (120 elever i 9. klasse i alt)."
fn lead(s: &Speech, f: &Figure, kommune: &Area, when: &str) -> String {
    let value = f.value.unwrap_or_default();
    let n = f
        .denominator
        .map(|n| format!(" ({} {} i alt)", format::integer(n), s.persons))
        .unwrap_or_default();
    if s.share {
        format!(
            "{} af de udsatte {} i {} {} {when}{n}.",
            s.number(value),
            s.persons,
            kommune.name,
            s.phrase
        )
    } else {
        format!(
            "De udsatte {} i {} {} {when} med et gennemsnit på {}{n}.",
            s.persons,
            kommune.name,
            s.phrase,
            s.number(value)
        )
    }
}

/// Danmark's and the region's figure, and the verdict.
fn comparison(
    s: &Speech,
    f: &Figure,
    national: &Figure,
    region: &Area,
    regional: Option<&Figure>,
) -> String {
    let n = national.value.unwrap_or_default();
    let mut out = format!("I hele landet var {} {}", s.noun(), s.number(n));
    if let Some(r) = regional.and_then(|r| r.value) {
        out.push_str(&format!(" og i {} {}", region.name, s.number(r)));
    }
    out.push_str(". ");
    let interval = s.interval(f).unwrap_or_default();
    let level = if s.share { LEVEL_SHARE } else { LEVEL_MEAN };
    let verdict = match (f.low, f.high) {
        (Some(low), Some(high)) => verdict(low, high, n, level),
        _ => Verdict::CannotTell,
    };
    let capital = capitalise(s.noun());
    out.push_str(&match verdict {
        Verdict::Below => format!(
            "{capital} i kommunen er lavere end i hele landet, også når der tages højde for den statistiske usikkerhed (95 %-interval {interval})."
        ),
        Verdict::Above => format!(
            "{capital} i kommunen er højere end i hele landet, også når der tages højde for den statistiske usikkerhed (95 %-interval {interval})."
        ),
        Verdict::Level => format!(
            "{capital} i kommunen er på niveau med landet (95 %-interval {interval})."
        ),
        Verdict::CannotTell => format!(
            "Forskellen til landet kan ikke skelnes fra tilfældige udsving (kommunens 95 %-interval er {interval})."
        ),
    });
    out
}

/// The gap to the kommune's øvrige in the same period.
fn gap(s: &Speech, f: &Figure, others: &Figure) -> String {
    let (v, o) = (
        f.value.unwrap_or_default(),
        others.value.unwrap_or_default(),
    );
    let diff = o - v;
    let size = if s.share {
        format!("{} procentpoint", format::decimal((diff * 100.0).abs(), 0))
    } else {
        format!("{} karakterpoint", format::decimal(diff.abs(), 1))
    };
    let word = if diff > 0.0 { "højere" } else { "lavere" };
    if (s.share && (diff * 100.0).abs() < 0.5) || (!s.share && diff.abs() < 0.05) {
        return format!(
            "Blandt kommunens øvrige {} var {} den samme ({}).",
            s.persons,
            s.noun(),
            s.number(o)
        );
    }
    format!(
        "Blandt kommunens øvrige {} var {} {}, {size} {word}.",
        s.persons,
        s.noun(),
        s.number(o)
    )
}

/// The direction over the kommune's last two published three-year figures.
fn direction(p: &Published, s: &Speech, kommune: i32) -> Option<String> {
    let windows = p.periods_of(s.id, 3);
    let [.., (y0, p0), (y1, p1)] = windows.as_slice() else {
        return None;
    };
    let get = |y: i32| valued(p.get_years(s.id, 3, y, kommune, "udsat", "alle"));
    let (a, b) = (get(*y0)?, get(*y1)?);
    let (va, vb) = (a.value?, b.value?);
    let apart = a.high? < b.low? || b.high? < a.low?;
    let how = match (apart, vb > va) {
        (true, true) => "Den er steget, også når der tages højde for den statistiske usikkerhed.",
        (true, false) => "Den er faldet, også når der tages højde for den statistiske usikkerhed.",
        (false, _) => "Ændringen ligger inden for den statistiske usikkerhed.",
    };
    Some(format!(
        "For de udsatte {} i kommunen var {} {} i {p0} og {} i {p1}. {how}",
        s.persons,
        s.noun(),
        s.number(va),
        s.number(vb)
    ))
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(first) => first.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_verdict_speaks_only_when_the_interval_allows_it() {
        // Danmark 45 %: a kommune at 20–40 % is below, 50–60 % above.
        assert_eq!(verdict(0.20, 0.40, 0.45, 0.05), Verdict::Below);
        assert_eq!(verdict(0.50, 0.60, 0.45, 0.05), Verdict::Above);
        // 42–48 % lies within 5 points of 45 %: on level.
        assert_eq!(verdict(0.42, 0.48, 0.45, 0.05), Verdict::Level);
        // 30–60 % holds 45 % but is too wide to say "på niveau".
        assert_eq!(verdict(0.30, 0.60, 0.45, 0.05), Verdict::CannotTell);
        // The bounds: Danmark exactly at the interval's edge is inside it.
        assert_eq!(verdict(0.45, 0.70, 0.45, 0.05), Verdict::CannotTell);
    }

    #[test]
    fn periods_are_named_as_a_danish_reader_says_them() {
        assert_eq!(period_phrase("2023/2024", 1), "i skoleåret 2023/2024");
        assert_eq!(
            period_phrase("2021/2022–2023/2024", 3),
            "i skoleårene 2021/2022–2023/2024 samlet"
        );
        assert_eq!(period_phrase("2024", 1), "i 2024");
        assert_eq!(period_phrase("2022–2024", 3), "i årene 2022–2024 samlet");
    }

    fn figure(value: f64, low: f64, high: f64, n: i64) -> Figure {
        Figure {
            value: Some(value),
            low: Some(low),
            high: Some(high),
            denominator: Some(n),
            suppressed: false,
        }
    }

    fn withheld_figure() -> Figure {
        Figure {
            value: None,
            low: None,
            high: None,
            denominator: None,
            suppressed: true,
        }
    }

    const ID: &str = "fp9_min2_dan_mat";
    const YEAR: &str = "2023/2024";
    const WINDOW: &str = "2021/2022–2023/2024";

    fn area(code: i32, name: &str) -> Area {
        Area {
            code,
            name: name.to_string(),
        }
    }

    fn sentences(p: &Published, kommune: &Area, region: &Area) -> Vec<String> {
        let indicator = registry::checked().indicator(ID).expect("in the registry");
        headline(p, indicator, kommune, region)
            .expect("a headline")
            .sentences
    }

    #[test]
    fn the_data_basis_counts_children_from_published_denominators_once_per_population() {
        let reg = crate::registry::checked();
        let key: Vec<&registry::Indicator> =
            ["fp9_participation", "fp9_min2_dan_mat", "youth_edu_18"]
                .iter()
                .filter_map(|id| reg.indicator(id))
                .collect();
        let mut p = Published::empty();
        for id in ["fp9_participation", "fp9_min2_dan_mat"] {
            p.add(
                (id, 1, 2025, 657, "alle", "alle"),
                "2025/2026",
                figure(0.9, 0.88, 0.92, 1234),
            );
            p.add(
                (id, 1, 2025, 657, "udsat", "alle"),
                "2025/2026",
                figure(0.6, 0.5, 0.7, 98),
            );
        }
        p.add(
            ("youth_edu_18", 1, 2026, 657, "alle", "alle"),
            "2026",
            figure(0.9, 0.88, 0.92, 1500),
        );
        p.add(
            ("youth_edu_18", 1, 2026, 657, "udsat", "alle"),
            "2026",
            withheld_figure(),
        );
        assert_eq!(
            counts(&p, &key, &area(657, "Herning Kommune")),
            [
                "Skoleåret 2025/2026: 1.234 elever i 9. klasse, heraf 98 udsatte.",
                "2026: 1.500 18-årige, antallet af udsatte er diskretioneret.",
            ]
        );
    }

    #[test]
    fn a_large_kommune_below_the_country_is_told_so_with_its_numbers() {
        let mut p = Published::empty();
        let cell = |geo, group| (ID, 1, 2024, geo, group, "alle");
        p.add(cell(751, "udsat"), YEAR, figure(0.38, 0.33, 0.43, 350));
        p.add(cell(751, "oevrige"), YEAR, figure(0.87, 0.86, 0.88, 3200));
        p.add(cell(1082, "udsat"), YEAR, figure(0.44, 0.42, 0.46, 2100));
        p.add(cell(0, "udsat"), YEAR, figure(0.45, 0.44, 0.46, 9800));
        let got = sentences(
            &p,
            &area(751, "Aarhus Kommune"),
            &area(1082, "Region Midtjylland"),
        );
        assert_eq!(
            got,
            [
                "38 % af de udsatte elever i 9. klasse i Aarhus Kommune fik mindst 2 i gennemsnit i både dansk og matematik ved 9.-klasseprøverne i skoleåret 2023/2024 (350 elever i 9. klasse i alt).",
                "I hele landet var andelen 45 % og i Region Midtjylland 44 %. Andelen i kommunen er lavere end i hele landet, også når der tages højde for den statistiske usikkerhed (95 %-interval 33–43 %).",
                "Blandt kommunens øvrige elever i 9. klasse var andelen 87 %, 49 procentpoint højere.",
            ]
        );
    }

    #[test]
    fn a_mid_size_kommune_with_a_wide_yearly_interval_is_told_by_its_three_years() {
        let mut p = Published::empty();
        let year = |geo, group| (ID, 1, 2024, geo, group, "alle");
        let window = |end, geo, group| (ID, 3, end, geo, group, "alle");
        // The yearly interval 20–58 % is wider than 30 points: the three years speak.
        p.add(year(657, "udsat"), YEAR, figure(0.38, 0.20, 0.58, 30));
        p.add(year(0, "udsat"), YEAR, figure(0.45, 0.44, 0.46, 9800));
        p.add(
            window(2024, 657, "udsat"),
            WINDOW,
            figure(0.41, 0.31, 0.52, 95),
        );
        p.add(
            window(2024, 657, "oevrige"),
            WINDOW,
            figure(0.86, 0.85, 0.87, 2400),
        );
        p.add(
            window(2024, 0, "udsat"),
            WINDOW,
            figure(0.45, 0.445, 0.455, 29000),
        );
        p.add(
            window(2021, 657, "udsat"),
            "2018/2019–2020/2021",
            figure(0.35, 0.25, 0.46, 88),
        );
        let got = sentences(
            &p,
            &area(657, "Herning Kommune"),
            &area(1082, "Region Midtjylland"),
        );
        assert_eq!(
            got,
            [
                "41 % af de udsatte elever i 9. klasse i Herning Kommune fik mindst 2 i gennemsnit i både dansk og matematik ved 9.-klasseprøverne i skoleårene 2021/2022–2023/2024 samlet (95 elever i 9. klasse i alt).",
                "I hele landet var andelen 45 %. Forskellen til landet kan ikke skelnes fra tilfældige udsving (kommunens 95 %-interval er 31–52 %).",
                "Blandt kommunens øvrige elever i 9. klasse var andelen 86 %, 45 procentpoint højere.",
                "For de udsatte elever i 9. klasse i kommunen var andelen 35 % i 2018/2019–2020/2021 og 41 % i 2021/2022–2023/2024. Ændringen ligger inden for den statistiske usikkerhed.",
            ]
        );
    }

    #[test]
    fn a_small_kommune_withheld_even_over_three_years_gets_a_plain_sentence() {
        let mut p = Published::empty();
        p.add((ID, 1, 2024, 825, "udsat", "alle"), YEAR, withheld_figure());
        p.add(
            (ID, 1, 2024, 0, "udsat", "alle"),
            YEAR,
            figure(0.45, 0.44, 0.46, 9800),
        );
        p.add(
            (ID, 3, 2024, 825, "udsat", "alle"),
            WINDOW,
            withheld_figure(),
        );
        let got = sentences(
            &p,
            &area(825, "Læsø Kommune"),
            &area(1081, "Region Nordjylland"),
        );
        assert_eq!(
            got,
            [
                "Tallene for de udsatte elever i 9. klasse i Læsø Kommune er diskretioneret for både skoleåret 2023/2024 og skoleårene 2021/2022–2023/2024 samlet: de bygger på så få personer, at de ikke kan offentliggøres uden at kunne røbe oplysninger om enkeltpersoner.",
                "I hele landet var andelen for de udsatte elever i 9. klasse 45 % i skoleåret 2023/2024.",
            ]
        );
    }
}
