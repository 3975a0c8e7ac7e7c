//! The client's IP address as the sign-in log records it: the TCP peer, or, when (and only
//! when) the peer is a configured trusted proxy, the right-most address of `X-Forwarded-For`
//! that is not itself a trusted proxy. Proxies append the address they received the request
//! from, so everything left of the last untrusted hop was written by the client and proves
//! nothing; trusting it would let any client write any address into the log, evade the
//! IP-based risk detections and pose as a trusted named location.

use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;

use axum::http::HeaderMap;

/// An address range in CIDR notation (`10.0.0.0/8`, `2001:db8::/32`); a bare address is a
/// range of one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpCidr {
    network: IpAddr,
    prefix: u8,
}

impl FromStr for IpCidr {
    type Err = String;

    fn from_str(s: &str) -> Result<IpCidr, String> {
        let (addr, prefix) = match s.trim().split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s.trim(), None),
        };
        let network: IpAddr = addr.parse().map_err(|_| format!("'{s}' is not an IP address or CIDR range"))?;
        let max = if network.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            Some(p) => p.parse::<u8>().ok().filter(|p| *p <= max).ok_or_else(|| format!("'{s}' has a bad prefix"))?,
            None => max,
        };
        Ok(IpCidr { network, prefix })
    }
}

impl IpCidr {
    /// Whether `ip` is in the range. IPv4-mapped IPv6 addresses (`::ffff:10.0.0.1`, what a
    /// dual-stack socket reports) count as their IPv4 address.
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.network, ip.to_canonical()) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX.checked_shl(32 - u32::from(self.prefix)).unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX.checked_shl(128 - u32::from(self.prefix)).unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

/// The client address of a request. Without a peer (requests driven in-process, not from a
/// socket) the peer is taken to be the loopback address.
pub fn client_ip(peer: Option<SocketAddr>, headers: &HeaderMap, trusted: &[IpCidr]) -> IpAddr {
    let peer = peer.map(|p| p.ip().to_canonical()).unwrap_or(IpAddr::from([127, 0, 0, 1]));
    if !trusted.iter().any(|range| range.contains(peer)) {
        return peer;
    }
    // Every header in order, then each hop from the right: the first address that is not one
    // of our trusted proxies is the one a trusted proxy saw connecting. An unparsable hop
    // stops the walk (it cannot be attributed), leaving the last trusted address seen.
    let hops: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .collect();
    let mut client = peer;
    for hop in hops.iter().rev() {
        match parse_forwarded(hop) {
            Some(ip) if trusted.iter().any(|range| range.contains(ip)) => client = ip,
            Some(ip) => return ip,
            None => break,
        }
    }
    client
}

/// An address as proxies write it: bare, `[v6]`, or with a port (`1.2.3.4:5678`, `[v6]:port`).
fn parse_forwarded(v: &str) -> Option<IpAddr> {
    if let Ok(ip) = v.parse::<IpAddr>() {
        return Some(ip.to_canonical());
    }
    if let Ok(sa) = v.parse::<SocketAddr>() {
        return Some(sa.ip().to_canonical());
    }
    v.strip_prefix('[').and_then(|r| r.strip_suffix(']')).and_then(|r| r.parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(xff: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-for", xff.parse().expect("header"));
        h
    }

    #[test]
    fn ranges() {
        let r: IpCidr = "10.0.0.0/8".parse().expect("cidr");
        assert!(r.contains("10.1.2.3".parse().expect("ip")));
        assert!(r.contains("::ffff:10.1.2.3".parse().expect("ip")));
        assert!(!r.contains("11.0.0.1".parse().expect("ip")));
        let one: IpCidr = "192.0.2.7".parse().expect("cidr");
        assert!(one.contains("192.0.2.7".parse().expect("ip")) && !one.contains("192.0.2.8".parse().expect("ip")));
        let all: IpCidr = "0.0.0.0/0".parse().expect("cidr");
        assert!(all.contains("8.8.8.8".parse().expect("ip")));
        let v6: IpCidr = "2001:db8::/32".parse().expect("cidr");
        assert!(v6.contains("2001:db8::1".parse().expect("ip")));
        assert!("10.0.0.0/33".parse::<IpCidr>().is_err() && "x".parse::<IpCidr>().is_err());
    }

    #[test]
    fn forwarded_only_from_trusted_peers() {
        let trusted: Vec<IpCidr> = vec!["10.0.0.0/8".parse().expect("cidr")];
        let proxy: SocketAddr = "10.0.0.5:4000".parse().expect("addr");
        let stranger: SocketAddr = "203.0.113.9:4000".parse().expect("addr");
        let h = headers("198.51.100.1, 10.0.0.5");
        assert_eq!(client_ip(Some(proxy), &h, &trusted).to_string(), "198.51.100.1");
        assert_eq!(client_ip(Some(stranger), &h, &trusted).to_string(), "203.0.113.9");
        assert_eq!(client_ip(Some(proxy), &HeaderMap::new(), &trusted).to_string(), "10.0.0.5");
        assert_eq!(client_ip(Some(proxy), &headers("[2001:db8::1]:443"), &trusted).to_string(), "2001:db8::1");
        assert_eq!(client_ip(None, &h, &[]).to_string(), "127.0.0.1");
    }

    #[test]
    fn a_client_cannot_choose_its_address_through_a_trusted_proxy() {
        let trusted: Vec<IpCidr> = vec!["10.0.0.0/8".parse().expect("cidr")];
        let proxy: SocketAddr = "10.0.0.5:4000".parse().expect("addr");
        // The client sent `X-Forwarded-For: 203.0.113.66`; the proxy appended the real peer.
        assert_eq!(
            client_ip(Some(proxy), &headers("203.0.113.66, 198.51.100.7"), &trusted).to_string(),
            "198.51.100.7"
        );
        // Two trusted proxies in a row are skipped.
        assert_eq!(
            client_ip(Some(proxy), &headers("203.0.113.66, 198.51.100.7, 10.1.1.1"), &trusted).to_string(),
            "198.51.100.7"
        );
        // Several headers count in order, as one list.
        let mut h = headers("203.0.113.66");
        h.append("x-forwarded-for", "198.51.100.8".parse().expect("header"));
        assert_eq!(client_ip(Some(proxy), &h, &trusted).to_string(), "198.51.100.8");
        // An unparsable hop stops the walk at the last trusted address.
        assert_eq!(
            client_ip(Some(proxy), &headers("198.51.100.7, garbage, 10.1.1.1"), &trusted).to_string(),
            "10.1.1.1"
        );
        // Only trusted hops: the left-most of them.
        assert_eq!(client_ip(Some(proxy), &headers("10.2.2.2, 10.1.1.1"), &trusted).to_string(), "10.2.2.2");
    }
}
