//! SQL functions Skolegang adds to DataFusion, registered in every session.
//!
//! - `key_hash(a, b, ...)`: a 64-bit hash of the values (any types, NULL included) as
//!   BIGINT. Equal values give equal hashes within a run; different values almost
//!   always give different ones. For finding the few duplicated keys among a hundred
//!   million cheaply (queries/validate/): group the hashes, then check the keys of the
//!   rows whose hash occurs more than once. A rule never depends on the hash alone.

use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, Int64Array};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::hash_utils::{RandomState, create_hashes};
use datafusion::error::Result;
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};
use datafusion::prelude::SessionContext;

/// Registers Skolegang's SQL functions in `ctx`.
pub fn register(ctx: &SessionContext) {
    ctx.register_udf(ScalarUDF::new_from_impl(KeyHash::new()));
}

/// `key_hash(a, b, ...)`.
#[derive(Debug, PartialEq, Eq, Hash)]
struct KeyHash {
    signature: Signature,
}

impl KeyHash {
    fn new() -> Self {
        KeyHash {
            signature: Signature::variadic_any(Volatility::Immutable),
        }
    }
}

impl ScalarUDFImpl for KeyHash {
    fn name(&self) -> &str {
        "key_hash"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Int64)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let arrays: Vec<ArrayRef> = ColumnarValue::values_to_arrays(&args.args)?;
        let mut hashes = vec![0u64; args.number_rows];
        create_hashes(&arrays, &RandomState::default(), &mut hashes)?;
        // The bits as they are; only equality matters.
        let values: Int64Array = hashes.into_iter().map(|h| h as i64).collect();
        Ok(ColumnarValue::Array(Arc::new(values)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::AsArray;
    use datafusion::arrow::datatypes::Int64Type;

    #[tokio::test]
    async fn equal_keys_hash_equal_and_different_keys_differ() {
        let ctx = SessionContext::new();
        register(&ctx);
        let batches = ctx
            .sql(
                "SELECT key_hash(id, y) FROM (VALUES ('a', 2020), ('a', 2020), ('a', 2021), \
                 ('b', 2020), (NULL, 2020)) AS t(id, y)",
            )
            .await
            .unwrap()
            .collect()
            .await
            .unwrap();
        let h: Vec<i64> = batches
            .iter()
            .flat_map(|b| b.column(0).as_primitive::<Int64Type>().values().to_vec())
            .collect();
        assert_eq!(h.len(), 5);
        assert_eq!(h[0], h[1], "the same key");
        for (i, j) in [(0, 2), (0, 3), (0, 4), (2, 3)] {
            assert_ne!(h[i], h[j], "rows {i} and {j} differ");
        }
    }
}
