//! A claims mapping policy's `GroupFilter`: which of the user's groups the `groups` claim
//! lists. Entra documents `MatchOn` (`displayname`, or `samaccountname`: the group's
//! on-premises SAM account name), `Type` (`prefix`, `suffix`, `contains`) and `Value`; the
//! filter applies to every group whatever the nesting, and not to directory roles, which
//! the claim keeps. It narrows what the application's `groupMembershipClaims` emits (an
//! application without group claims gets none either way), before the overage limit.
//!
//! Cerulean compares case-insensitively (Entra does not document the case rule), and refuses
//! an empty `Value`, which would keep every group and so do nothing.

use serde_json::{Map, Value};

use cerulean_store::ObjectRecord;

use super::{MappingError, get_ci};

/// The group property a filter reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MatchOn {
    DisplayName,
    /// `onPremisesSamAccountName` (synchronized groups only; cloud groups never match).
    SamAccountName,
}

/// How the property is compared with the filter's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FilterType {
    Prefix,
    Suffix,
    Contains,
}

/// A parsed `GroupFilter`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupFilter {
    pub match_on: MatchOn,
    pub filter_type: FilterType,
    /// Lower-cased.
    pub value: String,
}

fn fault(message: impl Into<String>) -> MappingError {
    MappingError::GroupFilter(message.into())
}

impl GroupFilter {
    /// Parses the `GroupFilter` object of a policy.
    pub fn parse(value: &Value) -> Result<GroupFilter, MappingError> {
        let obj: &Map<String, Value> = value.as_object().ok_or_else(|| fault("must be an object."))?;
        for key in obj.keys() {
            if !["MatchOn", "Type", "Value"].iter().any(|k| k.eq_ignore_ascii_case(key)) {
                return Err(fault(format!("property '{key}' is not supported.")));
            }
        }
        let text = |k: &str| -> Result<&str, MappingError> {
            get_ci(obj, k)
                .and_then(Value::as_str)
                .ok_or_else(|| fault(format!("'{k}' is required and must be a string.")))
        };
        let match_on = match text("MatchOn")?.to_ascii_lowercase().as_str() {
            "displayname" => MatchOn::DisplayName,
            "samaccountname" => MatchOn::SamAccountName,
            other => return Err(fault(format!("MatchOn '{other}' is not one of displayname, samaccountname."))),
        };
        let filter_type = match text("Type")?.to_ascii_lowercase().as_str() {
            "prefix" => FilterType::Prefix,
            "suffix" => FilterType::Suffix,
            "contains" => FilterType::Contains,
            other => return Err(fault(format!("Type '{other}' is not one of prefix, suffix, contains."))),
        };
        let value = text("Value")?;
        if value.is_empty() {
            return Err(fault("'Value' is empty, so the filter would keep every group."));
        }
        Ok(GroupFilter { match_on, filter_type, value: value.to_lowercase() })
    }

    /// Whether the `groups` claim keeps `group`.
    pub fn keeps(&self, group: &ObjectRecord) -> bool {
        let property = match self.match_on {
            MatchOn::DisplayName => "displayName",
            MatchOn::SamAccountName => "onPremisesSamAccountName",
        };
        let Some(attribute) = group.doc.get(property).and_then(Value::as_str) else { return false };
        let attribute = attribute.to_lowercase();
        match self.filter_type {
            FilterType::Prefix => attribute.starts_with(&self.value),
            FilterType::Suffix => attribute.ends_with(&self.value),
            FilterType::Contains => attribute.contains(&self.value),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn group(doc: Value) -> ObjectRecord {
        ObjectRecord {
            id: uuid::Uuid::new_v4(),
            object_type: "group".into(),
            version: 1,
            doc: doc.as_object().cloned().unwrap_or_default(),
            deleted_at: None,
        }
    }

    #[test]
    fn filters_as_documented() {
        let f = GroupFilter::parse(&json!({"MatchOn": "displayname", "Type": "prefix", "Value": "App-"})).expect("ok");
        assert!(f.keeps(&group(json!({"displayName": "app-Orders"}))));
        assert!(!f.keeps(&group(json!({"displayName": "Orders App-"}))));
        let f =
            GroupFilter::parse(&json!({"matchOn": "samAccountName", "type": "Suffix", "value": "_ro"})).expect("ok");
        assert!(f.keeps(&group(json!({"displayName": "x", "onPremisesSamAccountName": "fin_RO"}))));
        assert!(!f.keeps(&group(json!({"displayName": "fin_ro"}))));
        let f =
            GroupFilter::parse(&json!({"MatchOn": "displayname", "Type": "contains", "Value": "sales"})).expect("ok");
        assert!(f.keeps(&group(json!({"displayName": "EMEA Sales team"}))));
    }

    #[test]
    fn refuses_what_would_not_filter() {
        let cases = [
            (json!([]), "must be an object"),
            (json!({"MatchOn": "mail", "Type": "prefix", "Value": "a"}), "MatchOn 'mail'"),
            (json!({"MatchOn": "displayname", "Type": "regex", "Value": "a"}), "Type 'regex'"),
            (json!({"MatchOn": "displayname", "Type": "prefix"}), "'Value' is required"),
            (json!({"MatchOn": "displayname", "Type": "prefix", "Value": ""}), "keep every group"),
            (json!({"MatchOn": "displayname", "Type": "prefix", "Value": "a", "Scope": "x"}), "'Scope'"),
        ];
        for (v, message) in cases {
            let e = GroupFilter::parse(&v).expect_err("refused").to_string();
            assert!(e.contains(message), "{v}: {e}");
        }
    }
}
