//! Where a client address is: country, state, city, coordinates and autonomous system, as the
//! sign-in log records it and as risk detection and Conditional Access locations read it.
//!
//! Three sources, in this order, the first that knows the address wins:
//!
//! 1. a **ranges file** (`--location-ranges`): the operator's own statements about their
//!    networks, one CIDR range per line, most specific range first;
//! 2. **private and loopback ranges** (RFC 1918, RFC 4193, 127/8, ::1, link-local): the
//!    configured corporate network, as Entra shows sign-ins from inside a tenant's own network;
//! 3. **MaxMind-format databases** (`--location-db`, repeatable): GeoIP2/GeoLite2 City and ASN
//!    files, the format deployments already have; the fields of several files are merged (a City
//!    file names the place, an ASN file the network).
//!
//! An address none of them knows has no location, which is what Entra records for one too.

use std::fs;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use ipnetwork::IpNetwork;
use serde::Deserialize;

/// Where an address is.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Location {
    pub city: Option<String>,
    pub state: Option<String>,
    /// ISO 3166-1 alpha-2, as Graph's `countryOrRegion`.
    pub country_or_region: Option<String>,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    /// The autonomous system number (beta `signIn.autonomousSystemNumber`).
    pub asn: Option<u32>,
    pub asn_organization: Option<String>,
    /// The address is inside the tenant's own network (private ranges, or a ranges-file line
    /// marked `corporate`).
    pub corporate: bool,
}

impl Location {
    /// Fills the fields `self` lacks from `other`.
    fn merge(&mut self, other: Location) {
        fn fill<T>(a: &mut Option<T>, b: Option<T>) {
            if a.is_none() {
                *a = b;
            }
        }
        fill(&mut self.city, other.city);
        fill(&mut self.state, other.state);
        fill(&mut self.country_or_region, other.country_or_region);
        fill(&mut self.latitude, other.latitude);
        fill(&mut self.longitude, other.longitude);
        fill(&mut self.asn, other.asn);
        fill(&mut self.asn_organization, other.asn_organization);
        self.corporate |= other.corporate;
    }

    fn is_empty(&self) -> bool {
        *self == Location::default()
    }

    /// Graph's `signInLocation` (`city`, `state`, `countryOrRegion`, `geoCoordinates`).
    pub fn to_graph(&self) -> serde_json::Value {
        let coordinates = match (self.latitude, self.longitude) {
            (Some(latitude), Some(longitude)) => {
                serde_json::json!({"altitude": null, "latitude": latitude, "longitude": longitude})
            }
            _ => serde_json::Value::Null,
        };
        serde_json::json!({
            "city": self.city,
            "state": self.state,
            "countryOrRegion": self.country_or_region,
            "geoCoordinates": coordinates,
        })
    }
}

/// Why a location source could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LocationError {
    #[error("cannot read {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{path} is not a MaxMind database: {reason}")]
    Mmdb { path: PathBuf, reason: String },
    #[error("{path}, line {line}: {reason}")]
    Ranges { path: PathBuf, line: usize, reason: String },
}

/// What the operator configured.
#[derive(Debug, Clone, Default)]
pub struct LocatorConfig {
    pub databases: Vec<PathBuf>,
    pub ranges: Option<PathBuf>,
    /// The location private and loopback addresses resolve to (always `corporate`).
    pub corporate: Location,
}

/// Resolves addresses to locations. Cheap to share: the databases are read into memory once.
pub struct Locator {
    ranges: Vec<(IpNetwork, Location)>,
    corporate: Location,
    databases: Vec<maxminddb::Reader<Vec<u8>>>,
}

impl std::fmt::Debug for Locator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Locator").field("ranges", &self.ranges.len()).field("databases", &self.databases.len()).finish()
    }
}

impl Default for Locator {
    /// No databases, no ranges: only private addresses resolve (to an unnamed corporate network).
    fn default() -> Locator {
        Locator {
            ranges: Vec::new(),
            corporate: Location { corporate: true, ..Location::default() },
            databases: Vec::new(),
        }
    }
}

/// The ranges Entra and every proxy treat as "inside": RFC 1918, RFC 6598 shared space,
/// loopback, link-local, RFC 4193 unique local.
fn is_private(ip: IpAddr) -> bool {
    match ip.to_canonical() {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            v4.is_private() || v4.is_loopback() || v4.is_link_local() || (a == 100 && (64..128).contains(&b))
        }
        IpAddr::V6(v6) => {
            let first = v6.segments()[0];
            v6.is_loopback() || (first & 0xfe00) == 0xfc00 || (first & 0xffc0) == 0xfe80
        }
    }
}

impl Locator {
    /// Loads every configured source; a file that cannot be read or parsed is an error at
    /// start-up rather than a silently empty location later.
    pub fn load(config: &LocatorConfig) -> Result<Locator, LocationError> {
        let mut databases = Vec::new();
        for path in &config.databases {
            let bytes = fs::read(path).map_err(|source| LocationError::Io { path: path.clone(), source })?;
            let reader = maxminddb::Reader::from_source(bytes)
                .map_err(|e| LocationError::Mmdb { path: path.clone(), reason: e.to_string() })?;
            databases.push(reader);
        }
        let ranges = match &config.ranges {
            Some(path) => parse_ranges_file(path)?,
            None => Vec::new(),
        };
        let corporate = Location { corporate: true, ..config.corporate.clone() };
        Ok(Locator { ranges, corporate, databases })
    }

    /// The location of `ip`, or `None` when no source knows it.
    pub fn lookup(&self, ip: IpAddr) -> Option<Location> {
        let ip = ip.to_canonical();
        // The most specific range of the file wins, whatever its line.
        let ranged = self.ranges.iter().filter(|(net, _)| net.contains(ip)).max_by_key(|(net, _)| net.prefix());
        if let Some((_, location)) = ranged {
            return Some(location.clone());
        }
        if is_private(ip) {
            return Some(self.corporate.clone());
        }
        let mut found = Location::default();
        for db in &self.databases {
            if let Some(location) = lookup_mmdb(db, ip) {
                found.merge(location);
            }
        }
        (!found.is_empty()).then_some(found)
    }
}

/// The fields of GeoIP2/GeoLite2 City, Country and ASN records that a sign-in needs.
#[derive(Deserialize)]
struct MmdbRecord<'a> {
    #[serde(borrow)]
    city: Option<Named<'a>>,
    #[serde(borrow)]
    country: Option<Country<'a>>,
    #[serde(borrow)]
    subdivisions: Option<Vec<Country<'a>>>,
    location: Option<Coordinates>,
    autonomous_system_number: Option<u32>,
    autonomous_system_organization: Option<&'a str>,
}

#[derive(Deserialize)]
struct Named<'a> {
    #[serde(borrow)]
    names: Option<std::collections::BTreeMap<&'a str, &'a str>>,
}

#[derive(Deserialize)]
struct Country<'a> {
    iso_code: Option<&'a str>,
    #[serde(borrow)]
    names: Option<std::collections::BTreeMap<&'a str, &'a str>>,
}

#[derive(Deserialize)]
struct Coordinates {
    latitude: Option<f64>,
    longitude: Option<f64>,
}

fn english(names: Option<&std::collections::BTreeMap<&str, &str>>) -> Option<String> {
    names.and_then(|n| n.get("en")).map(|s| s.to_string())
}

fn lookup_mmdb(db: &maxminddb::Reader<Vec<u8>>, ip: IpAddr) -> Option<Location> {
    // An IPv6 address in an IPv4-only database is simply not there.
    let result = db.lookup(ip).ok()?;
    let record: MmdbRecord = result.decode().ok()??;
    Some(Location {
        city: record.city.as_ref().and_then(|c| english(c.names.as_ref())),
        state: record
            .subdivisions
            .as_ref()
            .and_then(|s| s.first())
            .and_then(|s| english(s.names.as_ref()).or_else(|| s.iso_code.map(str::to_string))),
        country_or_region: record.country.as_ref().and_then(|c| c.iso_code).map(str::to_string),
        latitude: record.location.as_ref().and_then(|l| l.latitude),
        longitude: record.location.as_ref().and_then(|l| l.longitude),
        asn: record.autonomous_system_number,
        asn_organization: record.autonomous_system_organization.map(str::to_string),
        corporate: false,
    })
}

/// Longest line accepted in a ranges file (a line longer than this is not a range).
const MAX_LINE: usize = 1024;

/// Reads a ranges file: CSV lines `cidr,country,state,city,latitude,longitude,asn,asnOrganization[,corporate]`,
/// trailing fields optional, empty fields unknown; `#` starts a comment line.
pub fn parse_ranges_file(path: &Path) -> Result<Vec<(IpNetwork, Location)>, LocationError> {
    let text = fs::read_to_string(path).map_err(|source| LocationError::Io { path: path.to_path_buf(), source })?;
    parse_ranges(&text).map_err(|(line, reason)| LocationError::Ranges { path: path.to_path_buf(), line, reason })
}

/// The lines of a ranges file (see [`parse_ranges_file`]); errors carry the 1-based line.
pub fn parse_ranges(text: &str) -> Result<Vec<(IpNetwork, Location)>, (usize, String)> {
    let mut ranges = Vec::new();
    for (index, raw) in text.lines().enumerate() {
        let line = index + 1;
        let trimmed = raw.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        if trimmed.len() > MAX_LINE {
            return Err((line, format!("longer than {MAX_LINE} characters")));
        }
        let fields: Vec<&str> = trimmed.split(',').map(str::trim).collect();
        if fields.len() > 9 {
            return Err((line, format!("{} fields, at most 9 expected", fields.len())));
        }
        let net: IpNetwork =
            fields[0].parse().map_err(|_| (line, format!("'{}' is not an IP address or CIDR range", fields[0])))?;
        let text_field = |i: usize| fields.get(i).filter(|v| !v.is_empty()).map(|v| v.to_string());
        let number = |i: usize, what: &str, min: f64, max: f64| -> Result<Option<f64>, (usize, String)> {
            match fields.get(i).filter(|v| !v.is_empty()) {
                None => Ok(None),
                Some(v) => match v.parse::<f64>() {
                    Ok(n) if (min..=max).contains(&n) => Ok(Some(n)),
                    _ => Err((line, format!("{what} '{v}' is not a number between {min} and {max}"))),
                },
            }
        };
        let country = text_field(1);
        if let Some(c) = &country
            && !(c.len() == 2 && c.chars().all(|ch| ch.is_ascii_alphabetic()))
        {
            return Err((line, format!("country '{c}' is not a two-letter ISO 3166 code")));
        }
        let asn = match fields.get(6).filter(|v| !v.is_empty()) {
            None => None,
            Some(v) => Some(
                v.trim_start_matches("AS").parse::<u32>().map_err(|_| (line, format!("ASN '{v}' is not a number")))?,
            ),
        };
        let corporate = match fields.get(8).filter(|v| !v.is_empty()) {
            None => false,
            Some(v) if v.eq_ignore_ascii_case("corporate") => true,
            Some(v) => return Err((line, format!("unknown flag '{v}' (only 'corporate')"))),
        };
        ranges.push((
            net,
            Location {
                country_or_region: country.map(|c| c.to_ascii_uppercase()),
                state: text_field(2),
                city: text_field(3),
                latitude: number(4, "latitude", -90.0, 90.0)?,
                longitude: number(5, "longitude", -180.0, 180.0)?,
                asn,
                asn_organization: text_field(7),
                corporate,
            },
        ));
    }
    Ok(ranges)
}

#[cfg(any(test, feature = "testing"))]
pub mod mmdb_writer;

#[cfg(test)]
mod tests {
    use super::mmdb_writer::{MmdbWriter, Value};
    use super::*;

    fn city(name: &str, country: &str, lat: f64, lon: f64) -> Value {
        Value::map([
            ("city", Value::map([("names", Value::map([("en", Value::from(name))]))])),
            ("country", Value::map([("iso_code", Value::from(country))])),
            ("subdivisions", Value::Array(vec![Value::map([("names", Value::map([("en", Value::from("Region"))]))])])),
            ("location", Value::map([("latitude", Value::Double(lat)), ("longitude", Value::Double(lon))])),
        ])
    }

    fn write(dir: &Path, name: &str, writer: &MmdbWriter) -> PathBuf {
        let path = dir.join(name);
        fs::write(&path, writer.to_bytes()).expect("write mmdb");
        path
    }

    fn temp_dir() -> PathBuf {
        let dir = std::env::temp_dir().join(format!("cerulean-location-{}", uuid::Uuid::new_v4()));
        fs::create_dir_all(&dir).expect("temp dir");
        dir
    }

    #[test]
    fn city_and_asn_databases_are_merged() {
        let dir = temp_dir();
        let mut cities = MmdbWriter::new("GeoLite2-City");
        cities.insert("203.0.113.0/24".parse().expect("net"), city("Oslo", "NO", 59.91, 10.75));
        cities.insert("2001:db8::/32".parse().expect("net"), city("Paris", "FR", 48.85, 2.35));
        let mut asns = MmdbWriter::new("GeoLite2-ASN");
        asns.insert(
            "203.0.0.0/16".parse().expect("net"),
            Value::map([
                ("autonomous_system_number", Value::U32(64500)),
                ("autonomous_system_organization", Value::from("Example Net")),
            ]),
        );
        let config = LocatorConfig {
            databases: vec![write(&dir, "city.mmdb", &cities), write(&dir, "asn.mmdb", &asns)],
            ..LocatorConfig::default()
        };
        let locator = Locator::load(&config).expect("load");
        let oslo = locator.lookup("203.0.113.7".parse().expect("ip")).expect("found");
        assert_eq!(oslo.city.as_deref(), Some("Oslo"));
        assert_eq!(oslo.state.as_deref(), Some("Region"));
        assert_eq!(oslo.country_or_region.as_deref(), Some("NO"));
        assert_eq!(oslo.latitude, Some(59.91));
        assert_eq!(oslo.asn, Some(64500));
        assert_eq!(oslo.asn_organization.as_deref(), Some("Example Net"));
        assert!(!oslo.corporate);
        // Only the ASN file knows this one.
        let other = locator.lookup("203.0.1.1".parse().expect("ip")).expect("found");
        assert_eq!((other.city, other.asn), (None, Some(64500)));
        let paris = locator.lookup("2001:db8::42".parse().expect("ip")).expect("found");
        assert_eq!(paris.city.as_deref(), Some("Paris"));
        assert_eq!(locator.lookup("198.51.100.1".parse().expect("ip")), None);
        // IPv4-mapped IPv6, as a dual-stack socket reports it.
        assert_eq!(
            locator.lookup("::ffff:203.0.113.7".parse().expect("ip")).and_then(|l| l.city).as_deref(),
            Some("Oslo")
        );
        fs::remove_dir_all(dir).ok();
    }

    #[test]
    fn private_addresses_are_the_corporate_network_and_ranges_win() {
        let dir = temp_dir();
        let ranges = dir.join("ranges.csv");
        fs::write(
            &ranges,
            "# our offices\n10.1.0.0/16,DE,Bavaria,Munich,48.14,11.58,,,corporate\n192.0.2.0/24,US,Washington,Seattle,47.6,-122.3,AS64501,Tor exit\n",
        )
        .expect("write ranges");
        let config = LocatorConfig {
            ranges: Some(ranges),
            corporate: Location { city: Some("Head office".into()), ..Location::default() },
            ..LocatorConfig::default()
        };
        let locator = Locator::load(&config).expect("load");
        let munich = locator.lookup("10.1.2.3".parse().expect("ip")).expect("found");
        assert_eq!((munich.city.as_deref(), munich.corporate), (Some("Munich"), true));
        let office = locator.lookup("10.9.9.9".parse().expect("ip")).expect("found");
        assert_eq!((office.city.as_deref(), office.corporate), (Some("Head office"), true));
        assert!(locator.lookup("127.0.0.1".parse().expect("ip")).expect("loopback").corporate);
        assert!(locator.lookup("::1".parse().expect("ip")).expect("loopback").corporate);
        assert!(locator.lookup("fd00::1".parse().expect("ip")).expect("ula").corporate);
        let seattle = locator.lookup("192.0.2.9".parse().expect("ip")).expect("found");
        assert_eq!((seattle.asn, seattle.corporate), (Some(64501), false));
        assert_eq!(locator.lookup("8.8.8.8".parse().expect("ip")), None);
        fs::remove_dir_all(dir).ok();
    }

    #[test]
    fn bad_sources_are_refused_with_the_reason() {
        for (text, line, reason) in [
            ("not-an-ip,US", 1, "not an IP address"),
            ("\n10.0.0.0/8,USA", 2, "two-letter"),
            ("10.0.0.0/8,US,,,91", 1, "latitude"),
            ("10.0.0.0/8,US,,,,,ASx", 1, "ASN"),
            ("10.0.0.0/8,US,,,,,,,vip", 1, "unknown flag"),
            ("10.0.0.0/8,1,2,3,4,5,6,7,8,9", 1, "at most 9"),
        ] {
            let (l, r) = parse_ranges(text).expect_err(text);
            assert_eq!(l, line, "{text}");
            assert!(r.contains(reason), "{text}: {r}");
        }
        let dir = temp_dir();
        let junk = dir.join("junk.mmdb");
        fs::write(&junk, b"not a database").expect("write");
        let err =
            Locator::load(&LocatorConfig { databases: vec![junk], ..LocatorConfig::default() }).expect_err("junk");
        assert!(err.to_string().contains("not a MaxMind database"), "{err}");
        let missing = Locator::load(&LocatorConfig { databases: vec![dir.join("absent")], ..LocatorConfig::default() });
        assert!(missing.expect_err("missing").to_string().contains("cannot read"));
        fs::remove_dir_all(dir).ok();
    }
}
