//! The client's address as seen through trusted proxies only: a forwarded
//! header is believed only when the direct peer is a configured proxy.

use axum::http::HeaderMap;
use ipnet::IpNet;
use std::net::IpAddr;

pub fn parse_net(s: &str) -> Result<IpNet, String> {
    s.parse::<IpNet>()
        .or_else(|_| s.parse::<IpAddr>().map(IpNet::from))
        .map_err(|_| format!("{s:?} is not an IP address or CIDR"))
}

/// Whether `ip` is one of the configured proxies.
pub fn is_trusted(ip: &IpAddr, trusted: &[IpNet]) -> bool {
    trusted.iter().any(|n| n.contains(ip))
}

/// Walks `X-Forwarded-For` from the right, skipping trusted proxies; the
/// first untrusted address is the client. Without a trusted peer, the peer.
pub fn client_ip(peer: IpAddr, headers: &HeaderMap, trusted: &[IpNet]) -> IpAddr {
    let is_trusted = |ip: &IpAddr| is_trusted(ip, trusted);
    if !is_trusted(&peer) {
        return peer;
    }
    // Several X-Forwarded-For headers form one list, in order; read it from the right.
    let mut hops = Vec::new();
    for value in headers.get_all("x-forwarded-for") {
        let Ok(v) = value.to_str() else { return peer };
        hops.extend(v.split(','));
    }
    let mut client = peer;
    for hop in hops.into_iter().rev() {
        match hop.trim().parse::<IpAddr>() {
            Ok(ip) if is_trusted(&ip) => client = ip,
            Ok(ip) => return ip,
            Err(_) => return client,
        }
    }
    client
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(v: &str) -> HeaderMap {
        let mut m = HeaderMap::new();
        m.insert("x-forwarded-for", v.parse().unwrap());
        m
    }

    #[test]
    fn forwarded_only_through_trusted_proxies() {
        let proxy: IpAddr = "10.0.0.1".parse().unwrap();
        let trusted = vec![parse_net("10.0.0.0/8").unwrap()];
        assert_eq!(
            client_ip(proxy, &h("203.0.113.9, 10.0.0.7"), &trusted).to_string(),
            "203.0.113.9"
        );
        // An untrusted peer cannot spoof its address.
        let peer: IpAddr = "198.51.100.1".parse().unwrap();
        assert_eq!(client_ip(peer, &h("1.2.3.4"), &trusted), peer);
        assert_eq!(client_ip(proxy, &h("garbage"), &trusted), proxy);
        let mut two = h("203.0.113.1");
        two.append("x-forwarded-for", "198.51.100.7, 10.0.0.3".parse().unwrap());
        assert_eq!(
            client_ip(proxy, &two, &trusted).to_string(),
            "198.51.100.7",
            "the last header is nearest"
        );
        assert!(parse_net("nope").is_err());
        assert!(parse_net("127.0.0.1").is_ok());
    }
}
