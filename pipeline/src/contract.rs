//! The input half of the data contract (data-contract.md, "Input"): the six extracts,
//! their required columns and the kind of each column.
//!
//! Columns are read in these canonical Arrow types whatever width or string
//! encoding the file uses: integers as Int64, strings as Utf8, dates as Date32.

use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use std::sync::Arc;

/// The kind of a contract column, and so which Parquet/Arrow types are accepted for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Any signed or unsigned integer width.
    Int,
    /// Utf8, LargeUtf8, Utf8View, or a dictionary of those.
    Str,
    /// Parquet DATE (Arrow Date32).
    Date,
}

impl Kind {
    pub fn canonical(self) -> DataType {
        match self {
            Kind::Int => DataType::Int64,
            Kind::Str => DataType::Utf8,
            Kind::Date => DataType::Date32,
        }
    }

    /// Whether a column of type `t` can be read as this kind without loss of meaning.
    pub fn accepts(self, t: &DataType) -> bool {
        use DataType::*;
        match (self, t) {
            (Kind::Int, Int8 | Int16 | Int32 | Int64 | UInt8 | UInt16 | UInt32 | UInt64) => true,
            (Kind::Str, Utf8 | LargeUtf8 | Utf8View) => true,
            (Kind::Str, Dictionary(_, v)) => matches!(**v, Utf8 | LargeUtf8 | Utf8View),
            // Arrow writes its Date64 as a Parquet DATE and reads it back as Date64.
            (Kind::Date, Date32 | Date64) => true,
            _ => false,
        }
    }

    /// The rule quoted in a schema error.
    pub fn rule(self) -> &'static str {
        match self {
            Kind::Int => "must be an integer (any width)",
            Kind::Str => "must be a string (UTF8, large UTF8 or string view)",
            Kind::Date => "must be a Parquet DATE",
        }
    }
}

#[derive(Debug, Clone, Copy)]
pub struct Column {
    pub name: &'static str,
    pub kind: Kind,
}

const fn col(name: &'static str, kind: Kind) -> Column {
    Column { name, kind }
}

use Kind::{Date, Int, Str};

const PERSONS: &[Column] = &[
    col("person_id", Str),
    col("birth_date", Date),
    col("sex", Str),
];

const RESIDENCE: &[Column] = &[
    col("person_id", Str),
    col("municipality_code", Int),
    col("valid_from", Date),
    col("valid_to", Date),
];

const ENROLMENT: &[Column] = &[
    col("person_id", Str),
    col("school_year", Int),
    col("grade", Int),
    col("institution_id", Str),
    col("institution_municipality", Int),
    col("school_type", Str),
    col("class_type", Str),
];

const EXAMS: &[Column] = &[
    col("person_id", Str),
    col("school_year", Int),
    col("grade_level", Int),
    col("exam_code", Int),
    col("grade", Int),
    col("exception_code", Int),
];

const MEASURES: &[Column] = &[
    col("person_id", Str),
    col("measure_id", Str),
    col("kind", Str),
    col("legal_basis", Str),
    col("placement_code", Int),
    col("start_date", Date),
    col("end_date", Date),
    col("acting_municipality", Int),
];

const YOUTH_EDUCATION: &[Column] = &[
    col("person_id", Str),
    col("programme", Str),
    col("start_date", Date),
    col("end_date", Date),
    col("outcome", Str),
];

/// One of the six input extracts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Extract {
    Persons,
    Residence,
    Enrolment,
    Exams,
    Measures,
    YouthEducation,
}

impl Extract {
    /// In validation order: persons first, because the others are checked against the
    /// accepted persons.
    pub const ALL: [Extract; 6] = [
        Extract::Persons,
        Extract::Residence,
        Extract::Enrolment,
        Extract::Exams,
        Extract::Measures,
        Extract::YouthEducation,
    ];

    /// The folder name under the input root, the table name in SQL and the quarantine
    /// folder name.
    pub fn name(self) -> &'static str {
        match self {
            Extract::Persons => "persons",
            Extract::Residence => "residence",
            Extract::Enrolment => "enrolment",
            Extract::Exams => "exams",
            Extract::Measures => "measures",
            Extract::YouthEducation => "youth_education",
        }
    }

    pub fn from_name(name: &str) -> Option<Extract> {
        Extract::ALL.into_iter().find(|e| e.name() == name)
    }

    /// The required columns, in contract order.
    pub fn columns(self) -> &'static [Column] {
        match self {
            Extract::Persons => PERSONS,
            Extract::Residence => RESIDENCE,
            Extract::Enrolment => ENROLMENT,
            Extract::Exams => EXAMS,
            Extract::Measures => MEASURES,
            Extract::YouthEducation => YOUTH_EDUCATION,
        }
    }

    /// The contract columns in their canonical types (all nullable: nulls are a row
    /// rule, not a schema rule).
    pub fn schema(self) -> SchemaRef {
        Arc::new(Schema::new(
            self.columns()
                .iter()
                .map(|c| Field::new(c.name, c.kind.canonical(), true))
                .collect::<Vec<_>>(),
        ))
    }
}

/// The contract columns followed by `extra` columns (for ingest and quarantine tables).
pub fn schema_with(extract: Extract, extra: &[Field]) -> SchemaRef {
    let mut fields: Vec<Field> = extract
        .schema()
        .fields()
        .iter()
        .map(|f| f.as_ref().clone())
        .collect();
    fields.extend_from_slice(extra);
    Arc::new(Schema::new(fields))
}

/// Bookkeeping columns added to every ingested row: the file it came from (relative to
/// the input root), its 0-based position in that file, and a run-wide ordinal that
/// fixes a deterministic order.
pub const SOURCE_FILE: &str = "source_file";
pub const SOURCE_ROW: &str = "source_row";
pub const ROW_ORDINAL: &str = "_row";

/// A bookkeeping column of the raw tables only: the values of the row that do not fit
/// their column's canonical type, as `column=value` text (NULL when all fit); see
/// [`crate::stages::ingest::narrow`]. In the quarantine it is [`ORIGINAL_VALUES`].
pub const OUT_OF_RANGE: &str = "_out_of_range";

/// The quarantine column that keeps, as text, the values a rejected row sent that its
/// contract columns cannot hold (reason `value_out_of_range`).
pub const ORIGINAL_VALUES: &str = "original_values";

/// The reason column of the validation queries and the quarantine.
pub const REASON: &str = "reason";
