//! Protocol-neutral queries: what the OData layer compiles `$filter`, `$search`, `$orderby`,
//! `$top` and `$skiptoken` into, and what every store engine executes.
//!
//! Paths address JSON properties of a document (`["displayName"]`,
//! `["passwordProfile", "forceChangePasswordNextSignIn"]`). Inside a lambda (`any`/`all`) paths
//! are relative to the collection element; an empty path is the element itself.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::records::{EdgeKind, ObjectRecord};

/// How the values at a path compare. Strings compare case-insensitively, as Entra does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ValueKind {
    String,
    Bool,
    /// Integers and doubles.
    Number,
    /// RFC 3339 UTC strings; they order as text because the store normalises them.
    DateTime,
    /// Lower-case hyphenated GUID strings.
    Guid,
}

/// A literal in a comparison.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Scalar {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    /// Strings, GUIDs (lower-case) and normalised date-times.
    Str(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum CmpOp {
    Eq,
    Ne,
    Gt,
    Ge,
    Lt,
    Le,
}

/// A JSON path into a document (or a lambda element).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PropPath(pub Vec<String>);

impl PropPath {
    pub fn of(name: &str) -> PropPath {
        PropPath(vec![name.to_string()])
    }
    /// The element itself, inside a lambda.
    pub fn element() -> PropPath {
        PropPath(Vec::new())
    }
    /// The special path of the object's id (a record field, not a document property).
    pub fn id() -> PropPath {
        PropPath(vec!["id".to_string()])
    }
    pub fn is_id(&self) -> bool {
        self.0.len() == 1 && self.0[0] == "id"
    }
}

/// A boolean condition over a document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Filter {
    And(Vec<Filter>),
    Or(Vec<Filter>),
    Not(Box<Filter>),
    /// `path op value`. `eq null` / `ne null` test absence or presence.
    Compare {
        path: PropPath,
        kind: ValueKind,
        op: CmpOp,
        value: Scalar,
    },
    /// `path in (v1, v2, ...)`.
    In {
        path: PropPath,
        kind: ValueKind,
        values: Vec<Scalar>,
    },
    /// `startswith(path, 'prefix')`, case-insensitive.
    StartsWith {
        path: PropPath,
        prefix: String,
    },
    /// `endswith(path, 'suffix')`, case-insensitive.
    EndsWith {
        path: PropPath,
        suffix: String,
    },
    /// `$search` term: some word of the string at `path` starts with `term`, case-insensitive.
    WordPrefix {
        path: PropPath,
        term: String,
    },
    /// `path/any(x: element)`: some element of the collection matches. `None` means the
    /// collection is not empty (`path/any()`).
    Any {
        path: PropPath,
        element: Option<Box<Filter>>,
    },
    /// `path/all(x: element)`: every element matches (true for an empty collection).
    All {
        path: PropPath,
        element: Box<Filter>,
    },
}

/// One `$orderby` key. The object id is always the final tie-breaker.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrderKey {
    pub path: PropPath,
    pub kind: ValueKind,
    pub descending: bool,
}

/// Where a list query looks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Scope {
    /// Live objects of the listed types.
    Live,
    /// Soft-deleted objects (the recycle bin).
    Deleted,
    /// Live objects at the other end of `kind` edges of `id`: the targets of its edges, or
    /// with `reverse` the sources of edges pointing at it (`memberOf` is reverse `Member`).
    Related { kind: EdgeKind, id: Uuid, reverse: bool },
    /// Live objects among `ids` (order and duplicates of `ids` do not matter): how a set the
    /// caller computed elsewhere (transitive membership, from the in-memory membership graph)
    /// gets `$filter`, `$orderby`, keyset paging and `$count` from the same compiler.
    Among(Vec<Uuid>),
}

/// The position after the last item of a page: the sort-key values of that item and its id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cursor {
    pub values: Vec<Scalar>,
    pub id: Uuid,
}

/// A list query.
#[derive(Debug, Clone, PartialEq)]
pub struct ListQuery {
    /// Object types to include (`user`, ...); empty means every type.
    pub types: Vec<String>,
    pub scope: Scope,
    pub filter: Option<Filter>,
    /// Sort keys; the id is appended as the last key (ascending) by the store.
    pub order: Vec<OrderKey>,
    /// Page size (at least 1).
    pub top: usize,
    /// Keyset position: return items strictly after it in the sort order.
    pub after: Option<Cursor>,
    /// Also count all items matching (ignoring `top` and `after`).
    pub count: bool,
    /// Read backward: the order (every key and the id tie-breaker) is reversed, so the page
    /// holds the items strictly *before* `after`, closest first, and `next` is the earliest of
    /// them. Azure AD Graph's `previous-page` pages this way.
    pub backward: bool,
}

impl ListQuery {
    pub fn new(types: &[&str], scope: Scope) -> ListQuery {
        ListQuery {
            types: types.iter().map(|t| t.to_string()).collect(),
            scope,
            filter: None,
            order: Vec::new(),
            top: 100,
            after: None,
            count: false,
            backward: false,
        }
    }
}

/// One page of results.
#[derive(Debug, Clone, PartialEq)]
pub struct Page {
    pub items: Vec<ObjectRecord>,
    /// Set when more items follow: pass it as `after` to get the next page.
    pub next: Option<Cursor>,
    /// The total, when `count` was asked.
    pub count: Option<u64>,
}

/// A property the store indexes for filtering and sorting. The layer that opens the store
/// derives these from the schema (filterable and sortable scalar properties), so the store
/// needs no knowledge of entity types.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct IndexSpec {
    pub object_type: String,
    pub path: PropPath,
    pub kind: ValueKind,
}
