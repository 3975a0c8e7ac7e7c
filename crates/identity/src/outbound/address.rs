//! Which addresses an outbound fetch may not reach: everything that is not a public unicast
//! address of the Internet. A URL an application or a federated credential names must not
//! make the server reach its own loopback services, the operator's private networks or a
//! cloud metadata endpoint (169.254.169.254) on the caller's behalf (server-side request
//! forgery).
//!
//! The ranges are IANA's special-purpose registries (RFC 6890 and its updates) less the
//! globally reachable ones, plus multicast. IPv6 forms that carry an IPv4 address (mapped
//! `::ffff:a.b.c.d`, the deprecated compatible `::a.b.c.d`, NAT64 `64:ff9b::/96` and 6to4
//! `2002::/16`) are judged by the IPv4 address they carry, so `::ffff:127.0.0.1` is loopback.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Why an address is not a public one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Restricted {
    /// `0.0.0.0/8`, `::`.
    Unspecified,
    /// `127.0.0.0/8`, `::1`.
    Loopback,
    /// RFC 1918: `10/8`, `172.16/12`, `192.168/16`.
    Private,
    /// RFC 6598 carrier-grade NAT: `100.64/10`.
    SharedAddressSpace,
    /// `169.254/16` (cloud metadata endpoints live here), `fe80::/10`.
    LinkLocal,
    /// `fc00::/7`.
    UniqueLocal,
    /// `224/4`, `ff00::/8`.
    Multicast,
    /// `255.255.255.255`.
    Broadcast,
    /// `192.0.2/24`, `198.51.100/24`, `203.0.113/24`, `2001:db8::/32`, `3fff::/20`.
    Documentation,
    /// Other special-purpose ranges: IETF protocol assignments, benchmarking, the former
    /// 6to4 relay anycast, `240/4`, discard-only `100::/64`, `2001::/23` (Teredo among
    /// them), local-use NAT64 `64:ff9b:1::/48`, site-local `fec0::/10`.
    Reserved,
}

impl std::fmt::Display for Restricted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Restricted::Unspecified => "an unspecified address",
            Restricted::Loopback => "a loopback address",
            Restricted::Private => "a private (RFC 1918) address",
            Restricted::SharedAddressSpace => "a carrier-grade NAT (RFC 6598) address",
            Restricted::LinkLocal => "a link-local address",
            Restricted::UniqueLocal => "a unique-local address",
            Restricted::Multicast => "a multicast address",
            Restricted::Broadcast => "the broadcast address",
            Restricted::Documentation => "a documentation address",
            Restricted::Reserved => "a reserved special-purpose address",
        })
    }
}

/// IPv4 ranges, most specific first where they nest (the broadcast address is in `240/4`).
const V4: &[(u32, u8, Restricted)] = &[
    (0x0000_0000, 8, Restricted::Unspecified),         // 0.0.0.0/8
    (0x0A00_0000, 8, Restricted::Private),             // 10.0.0.0/8
    (0x6440_0000, 10, Restricted::SharedAddressSpace), // 100.64.0.0/10
    (0x7F00_0000, 8, Restricted::Loopback),            // 127.0.0.0/8
    (0xA9FE_0000, 16, Restricted::LinkLocal),          // 169.254.0.0/16
    (0xAC10_0000, 12, Restricted::Private),            // 172.16.0.0/12
    (0xC000_0000, 24, Restricted::Reserved),           // 192.0.0.0/24
    (0xC000_0200, 24, Restricted::Documentation),      // 192.0.2.0/24
    (0xC058_6300, 24, Restricted::Reserved),           // 192.88.99.0/24
    (0xC0A8_0000, 16, Restricted::Private),            // 192.168.0.0/16
    (0xC612_0000, 15, Restricted::Reserved),           // 198.18.0.0/15
    (0xC633_6400, 24, Restricted::Documentation),      // 198.51.100.0/24
    (0xCB00_7100, 24, Restricted::Documentation),      // 203.0.113.0/24
    (0xE000_0000, 4, Restricted::Multicast),           // 224.0.0.0/4
    (0xFFFF_FFFF, 32, Restricted::Broadcast),          // 255.255.255.255/32
    (0xF000_0000, 4, Restricted::Reserved),            // 240.0.0.0/4
];

/// IPv6 ranges that carry no IPv4 address.
const V6: &[(u128, u8, Restricted)] = &[
    (0, 128, Restricted::Unspecified),                  // ::
    (1, 128, Restricted::Loopback),                     // ::1
    (0x0064_ff9b_0001 << 80, 48, Restricted::Reserved), // 64:ff9b:1::/48
    (0x0100 << 112, 64, Restricted::Reserved),          // 100::/64
    (0x2001_0db8 << 96, 32, Restricted::Documentation), // 2001:db8::/32
    (0x2001 << 112, 23, Restricted::Reserved),          // 2001::/23
    (0x3fff << 112, 20, Restricted::Documentation),     // 3fff::/20
    (0xfc00 << 112, 7, Restricted::UniqueLocal),        // fc00::/7
    (0xfe80 << 112, 10, Restricted::LinkLocal),         // fe80::/10
    (0xfec0 << 112, 10, Restricted::Reserved),          // fec0::/10
    (0xff00 << 112, 8, Restricted::Multicast),          // ff00::/8
];

/// Why `ip` may not be fetched from, or `None` for a public unicast address.
pub fn restriction(ip: IpAddr) -> Option<Restricted> {
    match ip {
        IpAddr::V4(v4) => restriction_v4(v4),
        IpAddr::V6(v6) => restriction_v6(v6),
    }
}

fn restriction_v4(ip: Ipv4Addr) -> Option<Restricted> {
    let bits = u32::from(ip);
    V4.iter().find(|(net, len, _)| bits & mask32(*len) == *net).map(|(_, _, why)| *why)
}

fn restriction_v6(ip: Ipv6Addr) -> Option<Restricted> {
    if let Some(v4) = embedded_v4(ip) {
        return restriction_v4(v4);
    }
    let bits = u128::from(ip);
    V6.iter().find(|(net, len, _)| bits & mask128(*len) == *net).map(|(_, _, why)| *why)
}

/// The IPv4 address an IPv6 address stands for: mapped, compatible (not `::` or `::1`),
/// NAT64 well-known prefix, 6to4.
fn embedded_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    let bits = u128::from(ip);
    let low = Ipv4Addr::from(bits as u32);
    let prefix96 = bits >> 32;
    if prefix96 == 0xffff || prefix96 == 0x0064_ff9b_0000_0000_0000_0000 || (prefix96 == 0 && bits > 1) {
        return Some(low);
    }
    if bits >> 112 == 0x2002 {
        return Some(Ipv4Addr::from((bits >> 80) as u32));
    }
    None
}

fn mask32(len: u8) -> u32 {
    u32::MAX.checked_shl(32 - u32::from(len)).unwrap_or(0)
}

fn mask128(len: u8) -> u128 {
    u128::MAX.checked_shl(128 - u32::from(len)).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn of(text: &str) -> Option<Restricted> {
        restriction(text.parse().expect("address"))
    }

    #[test]
    fn each_named_range_is_restricted() {
        use Restricted::*;
        for (ip, why) in [
            ("0.0.0.0", Unspecified),
            ("127.0.0.1", Loopback),
            ("127.255.255.254", Loopback),
            ("10.1.2.3", Private),
            ("172.16.0.1", Private),
            ("172.31.255.255", Private),
            ("192.168.1.1", Private),
            ("100.64.0.1", SharedAddressSpace),
            ("100.127.255.255", SharedAddressSpace),
            ("169.254.169.254", LinkLocal),
            ("224.0.0.1", Multicast),
            ("239.255.255.250", Multicast),
            ("255.255.255.255", Broadcast),
            ("240.0.0.1", Reserved),
            ("192.0.2.10", Documentation),
            ("198.51.100.7", Documentation),
            ("203.0.113.9", Documentation),
            ("198.18.0.1", Reserved),
            ("::", Unspecified),
            ("::1", Loopback),
            ("fc00::1", UniqueLocal),
            ("fd12:3456::1", UniqueLocal),
            ("fe80::1", LinkLocal),
            ("ff02::1", Multicast),
            ("2001:db8::1", Documentation),
            ("3fff::1", Documentation),
            ("2001::1", Reserved),
            ("fec0::1", Reserved),
            // IPv4 carried in IPv6 is judged by the IPv4 address.
            ("::ffff:127.0.0.1", Loopback),
            ("::ffff:169.254.169.254", LinkLocal),
            ("::ffff:10.0.0.1", Private),
            ("::ffff:0.0.0.0", Unspecified),
            ("::127.0.0.1", Loopback),
            ("64:ff9b::a00:1", Private),
            ("2002:c0a8:101::1", Private),
            ("2002:7f00:1::", Loopback),
        ] {
            assert_eq!(of(ip), Some(why), "{ip}");
        }
    }

    #[test]
    fn public_addresses_are_allowed() {
        for ip in [
            "8.8.8.8",
            "1.1.1.1",
            "140.82.112.3",
            "100.63.255.255",
            "100.128.0.0",
            "172.15.255.255",
            "172.32.0.0",
            "169.253.255.255",
            "223.255.255.255",
            "2606:4700:4700::1111",
            "2a00:1450:4001::200e",
            "::ffff:8.8.8.8",
            "64:ff9b::808:808",
            "2002:808:808::1",
        ] {
            assert_eq!(of(ip), None, "{ip}");
        }
    }

    /// Any address in `net/len`, its host bits drawn from `host`.
    fn within4(net: u32, len: u8, host: u32) -> Ipv4Addr {
        Ipv4Addr::from(net | (host & !mask32(len)))
    }

    /// Random IPv6 addresses, a third of them in a restricted range or its neighbourhood (a
    /// uniform `u128` almost never lands in one), a third IPv4-mapped.
    fn interesting_v6() -> impl Strategy<Value = u128> {
        prop_oneof![
            any::<u128>(),
            (0..V6.len(), any::<u128>(), 0..8u32).prop_map(|(i, host, widen)| {
                let (net, len, _) = V6[i];
                let len = u8::try_from(u32::from(len).saturating_sub(widen)).unwrap_or(0);
                net | (host & !mask128(len))
            }),
            any::<u32>().prop_map(|v4| u128::from(Ipv4Addr::from(v4).to_ipv6_mapped())),
        ]
    }

    proptest! {
        #[test]
        fn every_address_of_a_v4_range_has_its_reason(index in 0..V4.len(), host in any::<u32>()) {
            let (net, len, why) = V4[index];
            let ip = within4(net, len, host);
            // 255.255.255.255 is the one address of 240/4 with a reason of its own.
            let expected = if ip == Ipv4Addr::BROADCAST { Restricted::Broadcast } else { why };
            prop_assert_eq!(restriction(IpAddr::V4(ip)), Some(expected));
        }

        #[test]
        fn every_address_of_a_v6_range_is_restricted(index in 0..V6.len(), host in any::<u128>()) {
            let (net, len, _) = V6[index];
            let ip = Ipv6Addr::from(net | (host & !mask128(len)));
            prop_assert!(restriction(IpAddr::V6(ip)).is_some(), "{}", ip);
        }

        #[test]
        fn an_ipv4_mapped_address_is_judged_as_its_ipv4(bits in any::<u32>()) {
            let v4 = Ipv4Addr::from(bits);
            prop_assert_eq!(restriction(IpAddr::V6(v4.to_ipv6_mapped())), restriction(IpAddr::V4(v4)));
            prop_assert_eq!(
                restriction(IpAddr::V6(Ipv6Addr::from((0x0064_ff9b_u128 << 96) | u128::from(bits)))),
                restriction(IpAddr::V4(v4))
            );
        }

        /// Nothing the standard library knows as special gets through.
        #[test]
        fn what_is_allowed_is_no_special_address_std_knows(v4 in any::<u32>(), v6 in interesting_v6()) {
            let v4 = Ipv4Addr::from(v4);
            if restriction(IpAddr::V4(v4)).is_none() {
                prop_assert!(!(v4.is_private() || v4.is_loopback() || v4.is_link_local() || v4.is_multicast()
                    || v4.is_broadcast() || v4.is_unspecified() || v4.is_documentation()), "{}", v4);
            }
            let v6 = Ipv6Addr::from(v6);
            if restriction(IpAddr::V6(v6)).is_none() {
                prop_assert!(!(v6.is_loopback() || v6.is_unspecified() || v6.is_multicast()
                    || v6.is_unique_local() || v6.is_unicast_link_local()), "{}", v6);
            }
        }
    }
}
