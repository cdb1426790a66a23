//! JSON responses (SPEC §5): `{"success":true,"count":N}` or
//! `{"success":false,"error":"TEXT"}`, one per request frame in `json` mode.

use serde_json::{Map, Value};
use std::io;

/// A decoded response. Fields other than `success`, `count` and `error` (the
/// deployed server adds `tx_hash`, `block_ref`, …) are kept in `extra`.
#[derive(Debug, Clone, PartialEq)]
pub struct Response {
    /// Whether the batch was accepted.
    pub success: bool,
    /// Transactions accepted, when present.
    pub count: Option<u64>,
    /// Failure text, when present.
    pub error: Option<String>,
    /// Every other field, untouched.
    pub extra: Map<String, Value>,
}

/// The payload is not a valid response (SPEC §5).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed response: {reason}")]
pub struct MalformedResponse {
    /// What was wrong.
    pub reason: String,
}

impl From<MalformedResponse> for io::Error {
    fn from(e: MalformedResponse) -> io::Error {
        io::Error::new(io::ErrorKind::InvalidData, e)
    }
}

fn malformed(reason: impl Into<String>) -> MalformedResponse {
    MalformedResponse {
        reason: reason.into(),
    }
}

/// A JSON number that is a non-negative integer. Integral floats such as
/// `3.0` count, because JSON does not distinguish them from `3` and the
/// TypeScript reference (`Number.isInteger`) accepts them.
fn non_negative_integer(n: &serde_json::Number) -> Option<u64> {
    if let Some(v) = n.as_u64() {
        return Some(v);
    }
    if n.is_i64() {
        return None; // negative
    }
    let f = n.as_f64()?;
    // 2^64 is exactly representable; anything at or above it does not fit.
    if f.is_finite() && f >= 0.0 && f.fract() == 0.0 && f < 18_446_744_073_709_551_616.0 {
        Some(f as u64)
    } else {
        None
    }
}

/// Decode a response payload.
pub fn decode(payload: &[u8]) -> Result<Response, MalformedResponse> {
    let text =
        std::str::from_utf8(payload).map_err(|e| malformed(format!("invalid UTF-8: {e}")))?;
    let value: Value =
        serde_json::from_str(text).map_err(|e| malformed(format!("invalid JSON: {e}")))?;
    let Value::Object(mut extra) = value else {
        return Err(malformed("not a JSON object"));
    };
    let success = match extra.remove("success") {
        Some(Value::Bool(b)) => b,
        Some(_) => return Err(malformed("\"success\" is not a boolean")),
        None => return Err(malformed("\"success\" is missing")),
    };
    let count = match extra.remove("count") {
        None => None,
        Some(Value::Number(n)) => Some(
            non_negative_integer(&n)
                .ok_or_else(|| malformed("\"count\" is not a non-negative integer"))?,
        ),
        Some(_) => return Err(malformed("\"count\" is not a non-negative integer")),
    };
    let error = match extra.remove("error") {
        None => None,
        Some(Value::String(s)) => Some(s),
        Some(_) => return Err(malformed("\"error\" is not a string")),
    };
    Ok(Response {
        success,
        count,
        error,
        extra,
    })
}

impl Response {
    /// A success response for `count` accepted transactions.
    pub fn ok(count: u64) -> Self {
        Response {
            success: true,
            count: Some(count),
            error: None,
            extra: Map::new(),
        }
    }

    /// A failure response with `error` text.
    pub fn err(error: impl Into<String>) -> Self {
        Response {
            success: false,
            count: None,
            error: Some(error.into()),
            extra: Map::new(),
        }
    }

    /// Encode as compact JSON with `success` first, then `count`, then
    /// `error`, then any extra fields — the deployed server's field order, so
    /// our bytes match its bytes for the common responses.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = String::with_capacity(48);
        out.push_str(if self.success {
            "{\"success\":true"
        } else {
            "{\"success\":false"
        });
        if let Some(count) = self.count {
            out.push_str(",\"count\":");
            out.push_str(&count.to_string());
        }
        if let Some(error) = &self.error {
            out.push_str(",\"error\":");
            out.push_str(&Value::String(error.clone()).to_string());
        }
        for (k, v) in &self.extra {
            out.push(',');
            out.push_str(&Value::String(k.clone()).to_string());
            out.push(':');
            out.push_str(&v.to_string());
        }
        out.push('}');
        out.into_bytes()
    }

    /// The response as a JSON value (used to compare with test vectors).
    pub fn to_value(&self) -> Value {
        let mut map = Map::new();
        map.insert("success".into(), Value::Bool(self.success));
        if let Some(count) = self.count {
            map.insert("count".into(), Value::from(count));
        }
        if let Some(error) = &self.error {
            map.insert("error".into(), Value::String(error.clone()));
        }
        for (k, v) in &self.extra {
            map.insert(k.clone(), v.clone());
        }
        Value::Object(map)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decode_table() {
        // (input, Some((success, count, error)) or None for MalformedResponse)
        type Want = Option<(bool, Option<u64>, Option<&'static str>)>;
        let cases: &[(&str, Want)] = &[
            (r#"{"success":true,"count":3}"#, Some((true, Some(3), None))),
            (
                r#"{"success":true,"count":3.0}"#,
                Some((true, Some(3), None)),
            ),
            (
                r#"{"success":false,"error":"x"}"#,
                Some((false, None, Some("x"))),
            ),
            (
                r#"{"success":true,"queued":true}"#,
                Some((true, None, None)),
            ),
            (r#"{"success":true,"count":-1}"#, None),
            (r#"{"success":true,"count":1.5}"#, None),
            (r#"{"success":1}"#, None),
            (r#"{"count":1}"#, None),
            (r#"{"success":false,"error":null}"#, None),
            (r#"[true]"#, None),
            ("", None),
        ];
        for (input, want) in cases {
            let got = decode(input.as_bytes())
                .ok()
                .map(|r| (r.success, r.count, r.error));
            let want = want.map(|(s, c, e)| (s, c, e.map(String::from)));
            assert_eq!(got, want, "decode({input})");
        }
    }

    #[test]
    fn encode_is_the_deployed_shape() {
        assert_eq!(Response::ok(5).encode(), br#"{"success":true,"count":5}"#);
        assert_eq!(
            Response::err("a \"b\"").encode(),
            br#"{"success":false,"error":"a \"b\""}"#
        );
    }

    #[test]
    fn unknown_fields_survive_a_round_trip() {
        let r = decode(br#"{"success":true,"tx_hash":"ab","count":2}"#);
        let r = r.map(|r| decode(&r.encode()));
        assert!(matches!(r, Ok(Ok(ref r)) if r.extra.get("tx_hash") == Some(&Value::from("ab"))));
    }
}
