//! Which addresses the platform may connect to on a merchant's behalf: only public ones, so a
//! `notify_url` cannot make the platform call into its own network or a cloud metadata service.
//! One rule, used when an order is placed (literal addresses here, resolved names by the gateway)
//! and again on the very addresses a notification connects to.
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// True for an address on the public internet; false for loopback, private, link-local, CGNAT,
/// unspecified, broadcast, multicast, reserved, benchmarking and documentation ranges, and for an
/// IPv6 address that embeds a non-public IPv4 one (mapped, compatible, NAT64, 6to4).
pub fn is_public_address(address: IpAddr) -> bool {
    match address {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => is_public_v6(v6),
    }
}

fn is_public_v4(address: Ipv4Addr) -> bool {
    let [a, b, c, _] = address.octets();
    let non_public = a == 0                                  // "this network", 0.0.0.0/8
        || a == 10
        || a == 127
        || (a == 100 && (b & 0xc0) == 64)                    // CGNAT 100.64.0.0/10
        || (a == 169 && b == 254)                            // link-local
        || (a == 172 && (b & 0xf0) == 16)
        || (a == 192 && b == 168)
        || (a == 192 && b == 0 && (c == 0 || c == 2))        // IETF protocol assignments, TEST-NET-1
        || (a == 192 && b == 88 && c == 99)                  // 6to4 relay anycast
        || (a == 198 && (b & 0xfe) == 18)                    // benchmarking 198.18.0.0/15
        || (a == 198 && b == 51 && c == 100)                 // TEST-NET-2
        || (a == 203 && b == 0 && c == 113)                  // TEST-NET-3
        || a >= 224; // multicast 224/4, reserved 240/4 and broadcast
    !non_public
}

fn is_public_v6(address: Ipv6Addr) -> bool {
    let segments = address.segments();
    // IPv4 written as IPv6: mapped (::ffff:a.b.c.d), compatible (::a.b.c.d), NAT64 (64:ff9b::/96)
    // and 6to4 (2002:AABB:CCDD::/48) reach the IPv4 address inside, so that address decides.
    if let Some(v4) = address.to_ipv4_mapped() {
        return is_public_v4(v4);
    }
    if segments[..6] == [0; 6] {
        return !address.is_unspecified()
            && !address.is_loopback()
            && is_public_v4(embedded_v4(segments[6], segments[7]));
    }
    if segments[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        return is_public_v4(embedded_v4(segments[6], segments[7]));
    }
    if segments[0] == 0x2002 {
        return is_public_v4(embedded_v4(segments[1], segments[2]));
    }
    let global_unicast = (segments[0] & 0xe000) == 0x2000; // 2000::/3; ULA, link-local, multicast are outside
    let documentation = (segments[0] == 0x2001 && segments[1] == 0x0db8) || (segments[0] & 0xfff0) == 0x3ff0;
    let ietf_protocols = segments[0] == 0x2001 && segments[1] < 0x0200; // 2001::/23 (Teredo, ORCHID…)
    global_unicast && !documentation && !ietf_protocols
}

fn embedded_v4(high: u16, low: u16) -> Ipv4Addr {
    let [a, b] = high.to_be_bytes();
    let [c, d] = low.to_be_bytes();
    Ipv4Addr::new(a, b, c, d)
}

/// Host names that mean this machine or its private network whatever DNS says (RFC 6761 and the
/// common private suffixes). A trailing dot (`localhost.`) is the same name.
pub fn is_local_name(host: &str) -> bool {
    let name = host.trim_end_matches('.').to_ascii_lowercase();
    name == "localhost"
        || name.ends_with(".localhost")
        || name.ends_with(".local")
        || name.ends_with(".internal")
        || name.ends_with(".home.arpa")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn public(text: &str) -> bool {
        is_public_address(text.parse().unwrap())
    }

    #[test]
    fn only_public_addresses_pass() {
        for address in ["8.8.8.8", "1.1.1.1", "223.5.5.5", "100.128.0.1", "2400:3200::1", "2001:4860:4860::8888"] {
            assert!(public(address), "{address}");
        }
        for address in [
            "0.0.0.0",
            "0.1.2.3",
            "10.0.0.1",
            "127.0.0.1",
            "127.255.255.254",
            "100.64.0.1",
            "100.127.255.255",
            "169.254.169.254",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "192.0.0.8",
            "192.0.2.1",
            "198.18.0.1",
            "198.19.255.255",
            "198.51.100.7",
            "203.0.113.9",
            "192.88.99.1",
            "224.0.0.1",
            "239.255.255.250",
            "240.0.0.1",
            "255.255.255.255",
            "::",
            "::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "::127.0.0.1",
            "::10.0.0.1",
            "64:ff9b::7f00:1",
            "2002:7f00:1::",
            "2002:c0a8:0101::1",
            "fc00::1",
            "fd12:3456::1",
            "fe80::1",
            "fec0::1",
            "ff02::1",
            "2001:db8::1",
            "3fff::1",
            "2001::1",
            "100::1",
        ] {
            assert!(!public(address), "{address}");
        }
        assert!(public("::ffff:8.8.8.8") && public("64:ff9b::808:808") && public("2002:0808:0808::1"));
    }

    #[test]
    fn local_names() {
        for name in ["localhost", "LOCALHOST.", "a.localhost", "printer.local", "db.internal", "x.home.arpa"] {
            assert!(is_local_name(name), "{name}");
        }
        for name in ["example.com", "localhost.example.com", "local"] {
            assert!(!is_local_name(name), "{name}");
        }
    }
}
