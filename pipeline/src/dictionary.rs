//! The data dictionary: every output table and column, with its type, meaning and the
//! specification section behind it. `skolegang describe` prints it, and it is the
//! source of docs/data-dictionary.md (`make dictionary`; a test checks the file is
//! current, and another that it covers every column of the Parquet files a run writes,
//! with these types).

/// One output table.
#[derive(Debug)]
pub struct Table {
    pub name: &'static str,
    /// Where it is, relative to a run folder.
    pub path: &'static str,
    pub about: &'static str,
    pub columns: &'static [Column],
}

/// One column: its Arrow type as the files store it.
#[derive(Debug)]
pub struct Column {
    pub name: &'static str,
    pub arrow_type: &'static str,
    pub meaning: &'static str,
    /// The section of the specification (or of the project's docs) that defines it.
    pub source: &'static str,
}

const fn c(
    name: &'static str,
    arrow_type: &'static str,
    meaning: &'static str,
    source: &'static str,
) -> Column {
    Column {
        name,
        arrow_type,
        meaning,
        source,
    }
}

const OUTPUTS: &str = "data-contract.md, Outputs";
const BREAKDOWNS: &str = "methodology.md, Breakdowns";
const DISCLOSURE: &str = "methodology.md, Disclosure control";
const GROUPS: &str = "methodology.md, Who is in which group";
const MUNICIPALITY: &str = "methodology.md, Which municipality a person counts for";
const FP9: &str = "methodology.md, School-year indicators";
const AGE: &str = "methodology.md, Age indicators";
const RANKING: &str = "methodology.md, Three-year municipality ranking";

/// The columns of a cell, shared by `indicators` and each report's `indikatorer.parquet`.
macro_rules! cell_columns {
    ($($first:expr),*) => {
        &[
            $($first,)*
            c("period", "Utf8", "`2023/2024` for school-year indicators, `2024` for age indicators; a three-year window `2021/2022–2023/2024` or `2021–2023` (en dash)", "methodology.md, Extract date and which periods are computed; Three-year figures"),
            c("year", "Int32", "the start year of the school year, or the calendar year; for a window its last year", OUTPUTS),
            c("geo_level", "Utf8", "`land`, `region` or `kommune`", BREAKDOWNS),
            c("geo_code", "Int32", "0 for Danmark, 1081–1085 for the regions, else the municipality code", "codes/municipalities.csv"),
            c("geo_name", "Utf8", "Danmark, the region's or the municipality's name", "codes/municipalities.csv"),
            c("group", "Utf8", "`anbragt`, `forebyggende`, `udsat` (= anbragt or forebyggende), `oevrige` or `alle`", GROUPS),
            c("placement", "Utf8", "`alle`, or for group anbragt a placement_group or placement_type (`uoplyst` is both: one row)", BREAKDOWNS),
            c("numerator", "Int64", "persons meeting the indicator; null for the mean indicator and when withheld", FP9),
            c("denominator", "Int64", "persons in the cell's population; null when withheld", FP9),
            c("value", "Float64", "share in 0..1, or the mean grade; null when withheld", FP9),
            c("ci_low", "Float64", "lower end of the 95 % interval (Wilson for shares, mean ± 1.96·s/√n for the mean); null when withheld", "methodology.md, Uncertainty"),
            c("ci_high", "Float64", "upper end of the 95 % interval; null when withheld", "methodology.md, Uncertainty"),
            c("years", "Int32", "1 for a yearly cell, 3 for a three-year window (the sum of its three yearly cells)", "methodology.md, Three-year figures"),
            c("suppressed", "Boolean", "true when the cell is withheld for disclosure control (why is not published)", DISCLOSURE),
        ]
    };
}

const CONTRACT_INPUT: &str = "data-contract.md, Input";

/// The columns of a ranking: published/rankings and restricted/rankings.
const RANKING_COLUMNS: &[Column] = &[
    c(
        "window",
        "Utf8",
        "the three school years, e.g. `2021/2022–2023/2024` (en dash)",
        RANKING,
    ),
    c(
        "year",
        "Int32",
        "the start year of the window's last school year",
        RANKING,
    ),
    c(
        "municipality_code",
        "Int32",
        "the municipality code",
        "codes/municipalities.csv",
    ),
    c(
        "municipality_name",
        "Utf8",
        "the municipality's name",
        "codes/municipalities.csv",
    ),
    c(
        "rank_participation",
        "Int32",
        "rank on fp9_participation pooled over the window (Σ numerators / Σ denominators of the three yearly alle cells), 1 = best, ties share the lowest rank; null when not ranked (a yearly alle cell of the window withheld or absent)",
        RANKING,
    ),
    c(
        "rank_grade_mean",
        "Int32",
        "rank on fp9_grade_mean pooled over the window (Σ value × denominator / Σ denominators); null when not ranked",
        RANKING,
    ),
    c(
        "rank_transition",
        "Int32",
        "rank on transition_15m pooled over the window; null when not ranked",
        RANKING,
    ),
    c(
        "ranked_participation",
        "Int32",
        "N: the number of municipalities ranked on fp9_participation in the window",
        RANKING,
    ),
    c(
        "ranked_grade_mean",
        "Int32",
        "N for fp9_grade_mean",
        RANKING,
    ),
    c(
        "ranked_transition",
        "Int32",
        "N for transition_15m",
        RANKING,
    ),
    c(
        "mean_rank",
        "Float64",
        "the mean of the three ranks; null unless all three exist",
        RANKING,
    ),
    c(
        "bottom15_all",
        "Boolean",
        "true when on each of the three measures fewer than 15 ranked municipalities are strictly worse; null unless ranked on all three",
        RANKING,
    ),
];
const PSEUDONYMS: &str = "docs/for-researchers.md, The restricted tier";

/// Every output table, in the order of data-contract.md's output layout.
pub const TABLES: &[Table] = &[
    Table {
        name: "indicators",
        path: "published/indicators/indicator=<id>/part-0.parquet",
        about: "One row per cell: every indicator × period × geography × group × placement that has a population, withheld or not. Hive-partitioned: `indicator` is in the folder name and comes back as a column when read with hive partitioning.",
        columns: cell_columns!(c(
            "indicator",
            "Utf8",
            "the indicator id, e.g. `fp9_min2_dan_mat` (from the folder name `indicator=<id>`)",
            "methodology.md, School-year indicators and Age indicators"
        )),
    },
    Table {
        name: "rankings",
        path: "published/rankings/part-0.parquet",
        about: "The three-year kommune ranking, group alle: ranks only, no counts, computed from the published cells only (a kommune is ranked on a measure only when its three yearly `alle` cells are published), so every rank recomputes from `indicators`.",
        columns: RANKING_COLUMNS,
    },
    Table {
        name: "report_indikatorer",
        path: "published/reports/<code>-<slug>/indikatorer.parquet",
        about: "The kommune's own cells (geo_level kommune and its code), with the `indicator` column inside the file, for the report bundle.",
        columns: cell_columns!(c(
            "indicator",
            "Utf8",
            "the indicator id",
            "methodology.md, School-year indicators and Age indicators"
        )),
    },
    Table {
        name: "cohort_fp9",
        path: "restricted/cohort_fp9/part-0.parquet",
        about: "Restricted (`--restricted` only): one row per 9th-grade pupil per school year, with the flags behind the school-year indicators.",
        columns: &[
            c(
                "person_id",
                "Utf8",
                "the project's pseudonym of the pupil: HMAC-SHA256(project key, person_id) in lower-case hex",
                PSEUDONYMS,
            ),
            c("school_year", "Int64", "the school year's start year", FP9),
            c(
                "group",
                "Utf8",
                "`anbragt`, `forebyggende` or `oevrige` in the school year's window",
                GROUPS,
            ),
            c(
                "deciding_measure_id",
                "Utf8",
                "the measure that decided the group; null for oevrige",
                GROUPS,
            ),
            c(
                "placement_code",
                "Int64",
                "the deciding placement's code (anbragt only)",
                "codes/placement_codes.csv",
            ),
            c(
                "placement_type",
                "Utf8",
                "its placement type (anbragt only)",
                "codes/placement_codes.csv",
            ),
            c(
                "placement_group",
                "Utf8",
                "its placement group (anbragt only)",
                "codes/placement_codes.csv",
            ),
            c(
                "municipality_code",
                "Int64",
                "the municipality the pupil counts for",
                MUNICIPALITY,
            ),
            c(
                "region_code",
                "Int64",
                "that municipality's region",
                "codes/municipalities.csv",
            ),
            c(
                "municipality_source",
                "Utf8",
                "`handlekommune`, `residence` or `school`: where municipality_code came from",
                MUNICIPALITY,
            ),
            c(
                "school_type",
                "Utf8",
                "from the enrolment row",
                CONTRACT_INPUT,
            ),
            c(
                "class_type",
                "Utf8",
                "from the enrolment row",
                CONTRACT_INPUT,
            ),
            c(
                "n_danish_sat",
                "Int64",
                "bound Danish exams sat (with a grade)",
                FP9,
            ),
            c("n_maths_sat", "Int64", "bound mathematics exams sat", FP9),
            c("n_bound_sat", "Int64", "bound exams sat", FP9),
            c(
                "danish_mean",
                "Float64",
                "the (weighted) mean of the bound Danish grades",
                FP9,
            ),
            c(
                "maths_mean",
                "Float64",
                "the (weighted) mean of the bound mathematics grades",
                FP9,
            ),
            c(
                "bound_mean",
                "Float64",
                "the mean of all bound grades sat",
                FP9,
            ),
            c(
                "bound_grade_sum",
                "Int64",
                "the sum of all bound grades sat (for exact arithmetic)",
                "docs/methodology-choices.md, Exact arithmetic",
            ),
            c(
                "sat_danish_maths",
                "Boolean",
                "sat all bound Danish and mathematics exams (fp9_participation)",
                FP9,
            ),
            c(
                "min2_dan_mat",
                "Boolean",
                "sat them all and both means >= 2.0 (fp9_min2_dan_mat)",
                FP9,
            ),
            c(
                "fp9_passed",
                "Boolean",
                "sat all bound exams with a mean >= 2.0 (fp9_passed)",
                FP9,
            ),
            c(
                "transition_15m",
                "Boolean",
                "in or through a youth education on 1 October Y+2; null when that day is after the extract date",
                FP9,
            ),
            c(
                "school_offer_almen",
                "Boolean",
                "folkeskole, fri grundskole or efterskole in an almen class",
                FP9,
            ),
        ],
    },
    Table {
        name: "cohort_age",
        path: "restricted/cohort_age/part-0.parquet",
        about: "Restricted (`--restricted` only): one row per person per age cohort (17, 18 and 25 on 1 October), with the flags behind the age indicators.",
        columns: &[
            c(
                "person_id",
                "Utf8",
                "the person's pseudonym",
                CONTRACT_INPUT,
            ),
            c(
                "age",
                "Int64",
                "17, 18 or 25: the age on 1 October of `year`",
                AGE,
            ),
            c("year", "Int64", "the calendar year", AGE),
            c(
                "group",
                "Utf8",
                "`anbragt`, `forebyggende` or `oevrige` in the window from birth to the 18th birthday (or the reference date)",
                GROUPS,
            ),
            c(
                "deciding_measure_id",
                "Utf8",
                "the measure that decided the group; null for oevrige",
                GROUPS,
            ),
            c(
                "placement_code",
                "Int64",
                "the deciding placement's code (anbragt only)",
                "codes/placement_codes.csv",
            ),
            c(
                "placement_type",
                "Utf8",
                "its placement type (anbragt only)",
                "codes/placement_codes.csv",
            ),
            c(
                "placement_group",
                "Utf8",
                "its placement group (anbragt only)",
                "codes/placement_codes.csv",
            ),
            c(
                "municipality_code",
                "Int64",
                "the municipality the person counts for",
                MUNICIPALITY,
            ),
            c(
                "region_code",
                "Int64",
                "that municipality's region",
                "codes/municipalities.csv",
            ),
            c(
                "municipality_source",
                "Utf8",
                "`handlekommune` or `residence`",
                MUNICIPALITY,
            ),
            c(
                "youth_edu_enrolled_or_completed",
                "Boolean",
                "enrolled in or completed a youth education on 1 October (youth_edu_18)",
                AGE,
            ),
            c(
                "youth_edu_completed",
                "Boolean",
                "completed a youth education by 1 October (youth_edu_completed_25)",
                AGE,
            ),
            c(
                "no_fp9",
                "Boolean",
                "never sat a bound Danish or mathematics exam by 1 October (no_fp9_by_17)",
                AGE,
            ),
        ],
    },
    Table {
        name: "restricted_rankings",
        path: "restricted/rankings/part-0.parquet",
        about: "Restricted (`--restricted` only): the same ranking computed from every cell unsuppressed (every municipality with pupils ranked, 1..98): person-derived, for KL's selection under its own agreement.",
        columns: RANKING_COLUMNS,
    },
    Table {
        name: "disclosure_record",
        path: "disclosure/cells.parquet",
        about: "The statistician's record (private like the quarantine, never published): every cell with its true counts and why a withheld cell was withheld. The audit reads it to know which withheld counts are small; later releases read a period's counts as released.",
        columns: &[
            c("indicator", "Utf8", "the indicator id", DISCLOSURE),
            c("period", "Utf8", "as in published/indicators", DISCLOSURE),
            c("year", "Int32", "as in published/indicators", DISCLOSURE),
            c("years", "Int32", "as in published/indicators", DISCLOSURE),
            c(
                "geo_level",
                "Utf8",
                "as in published/indicators",
                DISCLOSURE,
            ),
            c(
                "geo_code",
                "Int32",
                "as in published/indicators",
                DISCLOSURE,
            ),
            c("geo_name", "Utf8", "as in published/indicators", DISCLOSURE),
            c("group", "Utf8", "as in published/indicators", DISCLOSURE),
            c(
                "placement",
                "Utf8",
                "as in published/indicators",
                DISCLOSURE,
            ),
            c(
                "numerator",
                "Int64",
                "the true numerator (null for the mean), withheld or not",
                DISCLOSURE,
            ),
            c(
                "denominator",
                "Int64",
                "the true denominator, withheld or not",
                DISCLOSURE,
            ),
            c(
                "grade_sum",
                "Float64",
                "fp9_grade_mean: the sum of the pupils' mean grades (value × denominator); null otherwise",
                DISCLOSURE,
            ),
            c("value", "Float64", "the true value", DISCLOSURE),
            c(
                "suppressed",
                "Boolean",
                "withheld in published/indicators",
                DISCLOSURE,
            ),
            c(
                "withheld",
                "Utf8",
                "null, `primary` (threshold rule) or `secondary` (protects a primary count or a small nested difference)",
                DISCLOSURE,
            ),
            c(
                "reasons",
                "Utf8",
                "for a primary cell, its reasons, comma-separated: `small_denominator`, `small_numerator`, `small_complement`, `all_or_none`, `denominator_below_k`; in a revised period also `changed_denominator`, `changed_numerator`, `changed_complement` (a count changed by 1..k−1 from the release it replaces)",
                "docs/disclosure.md",
            ),
        ],
    },
    Table {
        name: "quarantine",
        path: "quarantine/<extract>/part-0.parquet",
        about: "Rejected input rows of one extract (person-level, never published): the extract's contract columns as delivered, then these four.",
        columns: &[
            c(
                "<contract columns>",
                "as in the input",
                "every column of the extract, as in data-contract.md",
                CONTRACT_INPUT,
            ),
            c(
                "reason",
                "Utf8",
                "the first rule the row breaks (docs/validation.md, Reason codes)",
                "docs/validation.md",
            ),
            c(
                "source_file",
                "Utf8",
                "the input file, relative to the input root",
                "docs/validation.md",
            ),
            c(
                "source_row",
                "Int64",
                "the row's 0-based position in that file",
                "docs/validation.md",
            ),
            c(
                "original_values",
                "Utf8",
                "the values the row sent that its contract columns cannot hold, as `column=value` text (reason `value_out_of_range`: an unsigned integer above 2^63 − 1, a Date64 beyond 32-bit days); null when every value fits",
                "docs/validation.md",
            ),
        ],
    },
];

/// The dictionary as Markdown: docs/data-dictionary.md and `skolegang describe`.
pub fn markdown() -> String {
    let mut out = String::from(
        "# Data dictionary\n\n\
         Every table a run writes, every column, its Arrow type as stored in the Parquet \
         files, its meaning and where it is defined. Generated by `skolegang describe` from \
         `pipeline/src/dictionary.rs` (`make dictionary`); a test checks that this file is \
         current and that it covers every column of the files a run writes. Every Parquet \
         file also carries footer metadata: see docs/methodology-choices.md, \"Output \
         layout\".\n",
    );
    out.push_str(&indicators_markdown());
    for t in TABLES {
        out.push_str(&format!(
            "\n## {}\n\n`{}`\n\n{}\n\n| column | type | meaning | defined in |\n|---|---|---|---|\n",
            t.name, t.path, t.about
        ));
        for col in t.columns {
            out.push_str(&format!(
                "| `{}` | {} | {} | {} |\n",
                col.name, col.arrow_type, col.meaning, col.source
            ));
        }
    }
    out
}

/// The table "Indicators": every indicator of the registry (queries/indicators.toml),
/// what its cells count and where it is defined.
fn indicators_markdown() -> String {
    let r = crate::registry::checked();
    let mut out = String::from(
        "\n## Indicators\n\nThe values of the column `indicator`, from the indicator \
         registry `queries/indicators.toml`. A share publishes numerator / denominator with \
         a Wilson interval; a mean publishes the mean of the pupils' own means with a \
         normal interval. A cell exists where its population is not empty (for the two \
         sub-population indicators: where the 9th-grade cohort is not empty).\n\n\
         | indicator | Danish title | population | measure | numerator | denominator | periods | ranked | defined in |\n\
         |---|---|---|---|---|---|---|---|---|\n",
    );
    let about = |name: &str| -> String {
        r.counts
            .iter()
            .find(|c| c.name == name)
            .and_then(|c| c.about.clone())
            .map_or_else(|| format!("`{name}`"), |a| format!("`{name}` ({a})"))
    };
    for i in &r.indicators {
        let population = r.populations.get(&i.population);
        let measure = match i.measure {
            crate::registry::Measure::Share => "share",
            crate::registry::Measure::Mean => "mean",
        };
        let numerator = match (&i.numerator, &i.sum) {
            (Some(n), _) => about(n),
            (None, Some(s)) => format!("sum of the pupils' means (`{s}`)"),
            (None, None) => String::new(),
        };
        out.push_str(&format!(
            "| `{}` | {} | {} | {} | {} | {} | {} | {} | methodology.md, {} |\n",
            i.id,
            i.title,
            population.map_or("", |p| p.about.as_str()),
            measure,
            numerator,
            about(&i.denominator),
            population.map_or("", |p| p.period.as_str()),
            i.rank
                .as_deref()
                .map_or(String::from("no"), |k| format!("`rank_{k}`")),
            population.map_or("", |p| p.section.as_str()),
        ));
    }
    out
}
