//! The SQL both engines run for log reads (audit, sign-ins, the Identity Protection tables): one statement shape per set of
//! conditions, every condition on an indexed column, newest first by (time, insertion order).
//! The engines differ only in placeholders, the insertion-order column and how a text value is
//! compared with a `uuid` column, which [`LogDialect`] supplies.

use crate::{LogColumn, LogQuery, RiskTable, StoreError, StoreResult};

/// Which log a query reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LogTable {
    Audit,
    SignIns,
    Risk(RiskTable),
}

impl LogTable {
    pub(crate) fn name(self) -> &'static str {
        match self {
            LogTable::Audit => "audit",
            LogTable::SignIns => "sign_ins",
            LogTable::Risk(RiskTable::Detections) => "risk_detections",
            LogTable::Risk(RiskTable::RiskyUsers) => "risky_users",
            LogTable::Risk(RiskTable::History) => "risky_user_history",
            LogTable::Risk(RiskTable::ServicePrincipalDetections) => "service_principal_risk_detections",
            LogTable::Risk(RiskTable::RiskyServicePrincipals) => "risky_service_principals",
            LogTable::Risk(RiskTable::ServicePrincipalHistory) => "risky_service_principal_history",
        }
    }

    /// The columns of a risk table holding the subject (a [`crate::RiskRecord`]'s `user_id`)
    /// and its name (`user_principal_name`): the user and UPN, or the service principal and
    /// its `appId`.
    pub(crate) fn subject_columns(self) -> (&'static str, &'static str) {
        match self {
            LogTable::Risk(t) if t.is_service_principal() => ("service_principal_id", "app_id"),
            _ => ("user_id", "upn"),
        }
    }

    /// The column of `c` in this log, and whether it holds a uuid; `None` if the log has none.
    fn column(self, c: LogColumn) -> Option<(&'static str, bool)> {
        use LogColumn::*;
        match (self, c) {
            (LogTable::Audit, Category) => Some(("category", false)),
            (LogTable::Audit, Activity) => Some(("activity", false)),
            (LogTable::Audit, ActorId) => Some(("actor_id", true)),
            (_, CorrelationId) => Some(("correlation_id", false)),
            (LogTable::SignIns, UserId) => Some(("user_id", true)),
            (LogTable::SignIns, UserPrincipalName) => Some(("upn", false)),
            (LogTable::SignIns, AppId) => Some(("app_id", false)),
            (LogTable::SignIns, ErrorCode) => Some(("error_code", false)),
            (LogTable::SignIns, IpAddress) => Some(("ip_address", false)),
            (LogTable::SignIns, EventType) => Some(("event_type", false)),
            (LogTable::Risk(t), ServicePrincipalId) if t.is_service_principal() => Some(("service_principal_id", true)),
            (LogTable::Risk(t), AppId) if t.is_service_principal() => Some(("app_id", false)),
            (LogTable::Risk(t), UserId) if !t.is_service_principal() => Some(("user_id", true)),
            (LogTable::Risk(t), UserPrincipalName) if !t.is_service_principal() => Some(("upn", false)),
            (LogTable::Risk(_), IpAddress) => Some(("ip_address", false)),
            (LogTable::Risk(_), RiskEventType) => Some(("risk_event_type", false)),
            (LogTable::Risk(_), RiskLevel) => Some(("risk_level", false)),
            (LogTable::Risk(_), RiskState) => Some(("risk_state", false)),
            _ => None,
        }
    }
}

/// A bound value of a log statement after the tenant (always the first parameter).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum LogParam {
    Text(String),
    Int(i64),
}

/// What differs between the engines.
pub(crate) trait LogDialect {
    /// The placeholder of the `n`th parameter (1-based).
    fn placeholder(&self, n: usize) -> String;
    /// The placeholder of a text parameter compared with a uuid column.
    fn uuid_placeholder(&self, n: usize) -> String;
    /// The insertion-order column.
    fn ord(&self) -> &'static str;
}

/// More alternatives than this for one column is refused: each count is a statement shape the
/// engines cache.
pub(crate) const MAX_VALUES: usize = 16;

/// The statement of `query` over `table` (selecting `ord, at, record`) and its parameters
/// after the tenant. `None` when no row can match (a uuid column compared with a non-uuid).
pub(crate) fn select(
    d: &dyn LogDialect,
    table: LogTable,
    query: &LogQuery,
) -> StoreResult<Option<(String, Vec<LogParam>)>> {
    let ord = d.ord();
    let mut sql = format!("SELECT {ord}, at, record FROM {} WHERE tenant_id = {}", table.name(), d.placeholder(1));
    let mut params = Vec::new();
    let next = |params: &mut Vec<LogParam>, p: LogParam| {
        params.push(p);
        params.len() + 1
    };
    if let Some(from) = &query.from {
        let n = next(&mut params, LogParam::Text(from.clone()));
        sql.push_str(&format!(" AND at >= {}", d.placeholder(n)));
    }
    if let Some(to) = &query.to {
        let n = next(&mut params, LogParam::Text(to.clone()));
        sql.push_str(&format!(" AND at <= {}", d.placeholder(n)));
    }
    for (column, values) in &query.equals {
        let Some((name, is_uuid)) = table.column(*column) else {
            return Err(StoreError::Invalid(format!("the {} log has no column {column:?}", table.name())));
        };
        if values.len() > MAX_VALUES {
            return Err(StoreError::Invalid(format!("more than {MAX_VALUES} values for {column:?}")));
        }
        let mut holders = Vec::new();
        for v in values {
            let v = if is_uuid {
                // A malformed id matches nothing; binding it would be an engine error.
                match uuid::Uuid::parse_str(v) {
                    Ok(id) => id.hyphenated().to_string(),
                    Err(_) => continue,
                }
            } else if *column == LogColumn::UserPrincipalName
                || (*column == LogColumn::AppId && matches!(table, LogTable::Risk(_)))
            {
                v.to_lowercase()
            } else {
                v.clone()
            };
            let n = next(&mut params, LogParam::Text(v));
            holders.push(if is_uuid { d.uuid_placeholder(n) } else { d.placeholder(n) });
        }
        if holders.is_empty() {
            return Ok(None);
        }
        sql.push_str(&format!(" AND {name} IN ({})", holders.join(", ")));
    }
    if let Some(after) = &query.after {
        let a = next(&mut params, LogParam::Text(after.at.clone()));
        let o = next(&mut params, LogParam::Int(after.ord));
        sql.push_str(&format!(" AND (at, {ord}) < ({}, {})", d.placeholder(a), d.placeholder(o)));
    }
    let limit = i64::try_from(query.limit).unwrap_or(i64::MAX);
    let n = next(&mut params, LogParam::Int(limit));
    sql.push_str(&format!(" ORDER BY at DESC, {ord} DESC LIMIT {}", d.placeholder(n)));
    Ok(Some((sql, params)))
}

/// Parses a stored sign-in record keeping only the `keep` top-level properties of its `doc`;
/// the others are skipped by the parser (validated, never built into values).
pub(crate) fn parse_sign_in_projected(text: &str, keep: &[&str]) -> StoreResult<crate::SignInRecord> {
    use serde::de::DeserializeSeed;
    let mut de = serde_json::Deserializer::from_str(text);
    let record = projection::Record { keep }
        .deserialize(&mut de)
        .and_then(|r| de.end().map(|()| r))
        .map_err(|e| StoreError::Invalid(format!("log record: {e}")))?;
    Ok(record)
}

mod projection {
    //! The seeds of [`super::parse_sign_in_projected`]: the record's own fields are read as
    //! usual (they are few and small), its `doc` map keeps the listed properties only.

    use std::fmt;

    use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, Visitor};
    use serde_json::{Map, Value};

    pub(super) struct Record<'k> {
        pub keep: &'k [&'k str],
    }

    impl<'de> DeserializeSeed<'de> for Record<'_> {
        type Value = crate::SignInRecord;
        fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            d.deserialize_map(self)
        }
    }

    impl<'de> Visitor<'de> for Record<'_> {
        type Value = crate::SignInRecord;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a sign-in record")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let mut fields = Map::new();
            while let Some(key) = map.next_key::<String>()? {
                let value = if key == "doc" {
                    Value::Object(map.next_value_seed(Doc { keep: self.keep })?)
                } else {
                    map.next_value::<Value>()?
                };
                fields.insert(key, value);
            }
            serde_json::from_value(Value::Object(fields)).map_err(de::Error::custom)
        }
    }

    struct Doc<'k> {
        keep: &'k [&'k str],
    }

    impl<'de> DeserializeSeed<'de> for Doc<'_> {
        type Value = Map<String, Value>;
        fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            d.deserialize_map(self)
        }
    }

    impl<'de> Visitor<'de> for Doc<'_> {
        type Value = Map<String, Value>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a sign-in document")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let mut doc = Map::new();
            while let Some(key) = map.next_key::<String>()? {
                if self.keep.contains(&key.as_str()) {
                    doc.insert(key, map.next_value::<Value>()?);
                } else {
                    map.next_value::<IgnoredAny>()?;
                }
            }
            Ok(doc)
        }
    }
}
