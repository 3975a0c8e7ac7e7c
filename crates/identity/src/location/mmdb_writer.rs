//! A small writer of MaxMind DB files (format 2.0, IPv6 trees with IPv4 at `::/96`, 32-bit
//! records), so tests build their own location databases instead of shipping GeoLite2.
//! Spec: <https://maxmind.github.io/MaxMind-DB/>. Test support only (`testing` feature).

use std::collections::BTreeMap;
use std::net::IpAddr;

use ipnetwork::IpNetwork;

/// A value of the MaxMind DB data section.
#[derive(Debug, Clone)]
pub enum Value {
    String(String),
    Double(f64),
    U16(u16),
    U32(u32),
    U64(u64),
    Bool(bool),
    Map(BTreeMap<String, Value>),
    Array(Vec<Value>),
}

impl From<&str> for Value {
    fn from(s: &str) -> Value {
        Value::String(s.to_string())
    }
}

impl Value {
    /// A map from `(key, value)` pairs.
    pub fn map<const N: usize>(pairs: [(&str, Value); N]) -> Value {
        Value::Map(pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
    }

    fn encode(&self, out: &mut Vec<u8>) {
        match self {
            Value::String(s) => {
                control(out, 2, s.len());
                out.extend_from_slice(s.as_bytes());
            }
            Value::Double(d) => {
                control(out, 3, 8);
                out.extend_from_slice(&d.to_be_bytes());
            }
            Value::U16(n) => uint(out, 5, u64::from(*n)),
            Value::U32(n) => uint(out, 6, u64::from(*n)),
            Value::U64(n) => uint(out, 9, *n),
            Value::Bool(b) => control(out, 14, usize::from(*b)),
            Value::Map(m) => {
                control(out, 7, m.len());
                for (k, v) in m {
                    Value::String(k.clone()).encode(out);
                    v.encode(out);
                }
            }
            Value::Array(a) => {
                control(out, 11, a.len());
                for v in a {
                    v.encode(out);
                }
            }
        }
    }
}

/// An unsigned integer in its minimal big-endian width.
fn uint(out: &mut Vec<u8>, kind: u8, n: u64) {
    let bytes = n.to_be_bytes();
    let skip = bytes.iter().take_while(|b| **b == 0).count();
    control(out, kind, 8 - skip);
    out.extend_from_slice(&bytes[skip..]);
}

/// The control byte(s): type in the top 3 bits (extended types after it), size in the low 5.
fn control(out: &mut Vec<u8>, kind: u8, size: usize) {
    let (type_bits, extended) = if kind <= 7 { (kind << 5, None) } else { (0, Some(kind - 7)) };
    let (size_bits, size_bytes): (u8, Vec<u8>) = match size {
        0..=28 => (size as u8, vec![]),
        29..=284 => (29, vec![(size - 29) as u8]),
        285..=65_820 => (30, ((size - 285) as u16).to_be_bytes().to_vec()),
        _ => (31, ((size - 65_821) as u32).to_be_bytes()[1..].to_vec()),
    };
    out.push(type_bits | size_bits);
    if let Some(e) = extended {
        out.push(e);
    }
    out.extend_from_slice(&size_bytes);
}

#[derive(Clone, Copy)]
enum Record {
    Empty,
    Node(usize),
    Data(usize),
}

/// Builds a database: insert networks (less specific before more specific), then
/// [`MmdbWriter::to_bytes`].
pub struct MmdbWriter {
    database_type: String,
    nodes: Vec<[Record; 2]>,
    data: Vec<u8>,
}

impl MmdbWriter {
    pub fn new(database_type: &str) -> MmdbWriter {
        MmdbWriter { database_type: database_type.to_string(), nodes: vec![[Record::Empty; 2]], data: Vec::new() }
    }

    /// Maps every address of `net` to `value`.
    pub fn insert(&mut self, net: IpNetwork, value: Value) {
        let offset = self.data.len();
        value.encode(&mut self.data);
        let (bits, prefix) = match net.network() {
            IpAddr::V4(v4) => (u128::from(v4.to_ipv6_compatible()), 96 + usize::from(net.prefix())),
            IpAddr::V6(v6) => (u128::from(v6), usize::from(net.prefix())),
        };
        let mut node = 0;
        for depth in 0..prefix {
            let bit = ((bits >> (127 - depth)) & 1) as usize;
            if depth + 1 == prefix {
                self.nodes[node][bit] = Record::Data(offset);
                return;
            }
            node = match self.nodes[node][bit] {
                Record::Node(next) => next,
                // A less specific network already here: split it into a node that keeps it on
                // both sides, then go on down.
                inherited => {
                    self.nodes.push([inherited; 2]);
                    let next = self.nodes.len() - 1;
                    self.nodes[node][bit] = Record::Node(next);
                    next
                }
            };
        }
    }

    /// The database file.
    pub fn to_bytes(&self) -> Vec<u8> {
        let count = self.nodes.len() as u32;
        let mut out = Vec::with_capacity(self.nodes.len() * 8 + 16 + self.data.len() + 256);
        for pair in &self.nodes {
            for record in pair {
                let value = match *record {
                    Record::Empty => count,
                    Record::Node(n) => n as u32,
                    Record::Data(offset) => count + 16 + offset as u32,
                };
                out.extend_from_slice(&value.to_be_bytes());
            }
        }
        out.extend_from_slice(&[0u8; 16]);
        out.extend_from_slice(&self.data);
        out.extend_from_slice(b"\xAB\xCD\xEFMaxMind.com");
        Value::Map(BTreeMap::from([
            ("binary_format_major_version".into(), Value::U16(2)),
            ("binary_format_minor_version".into(), Value::U16(0)),
            ("build_epoch".into(), Value::U64(0)),
            ("database_type".into(), Value::String(self.database_type.clone())),
            ("description".into(), Value::map([("en", Value::from("Cerulean test database"))])),
            ("ip_version".into(), Value::U16(6)),
            ("languages".into(), Value::Array(vec![Value::from("en")])),
            ("node_count".into(), Value::U32(count)),
            ("record_size".into(), Value::U16(32)),
        ]))
        .encode(&mut out);
        out
    }
}
