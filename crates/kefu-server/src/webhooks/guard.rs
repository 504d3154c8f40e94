//! The SSRF guard: webhook URLs are chosen by workspace admins, so without
//! it anyone with an admin account could make kefu POST into the network it
//! runs in (a database's HTTP port, a cloud metadata service).
//!
//! Destinations resolving to loopback, private (RFC 1918, fc00::/7),
//! link-local (169.254/16, fe80::/10), CGNAT (100.64/10), unspecified,
//! multicast, broadcast, documentation/benchmark/reserved ranges and the
//! metadata addresses (169.254.169.254, fd00:ec2::254) are refused unless
//! `[webhooks] allow_private_networks = true`. The check happens when the
//! connection is made: [`GuardedResolver`] is the HTTP client's DNS
//! resolver and drops every blocked address it resolves, so a name that
//! passes validation and then re-resolves to 127.0.0.1 (DNS rebinding)
//! still cannot connect. Literal IPs never reach a resolver: the sender
//! checks them ([`check_url`]) before each request. Redirects are never
//! followed and proxies from the environment are ignored.

use reqwest::Url;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// Why an address is refused, in words for the delivery log and 422s.
pub fn blocked(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => blocked_v4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            // ::ffff:127.0.0.1 is 127.0.0.1.
            Some(v4) => blocked_v4(v4),
            None => blocked_v6(v6),
        },
    }
}

fn blocked_v4(ip: Ipv4Addr) -> Option<&'static str> {
    let [a, b, c, _] = ip.octets();
    Some(match () {
        _ if ip == Ipv4Addr::new(169, 254, 169, 254) => "a cloud metadata address",
        _ if ip.is_unspecified() || a == 0 => "an unspecified address",
        _ if ip.is_loopback() => "a loopback address",
        _ if ip.is_private() => "a private address (RFC 1918)",
        _ if ip.is_link_local() => "a link-local address",
        _ if a == 100 && (64..128).contains(&b) => "a carrier-grade NAT address (100.64.0.0/10)",
        _ if ip.is_multicast() => "a multicast address",
        _ if ip.is_broadcast() || a >= 240 => "a reserved address",
        _ if a == 192 && b == 0 && c == 0 => "an IETF protocol address (192.0.0.0/24)",
        _ if ip.is_documentation() => "a documentation address",
        _ if a == 198 && (b == 18 || b == 19) => "a benchmarking address",
        _ => return None,
    })
}

fn blocked_v6(ip: Ipv6Addr) -> Option<&'static str> {
    let s = ip.segments();
    Some(match () {
        _ if ip == Ipv6Addr::new(0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254) => "a cloud metadata address",
        _ if ip.is_unspecified() => "an unspecified address",
        _ if ip.is_loopback() => "a loopback address",
        _ if (s[0] & 0xfe00) == 0xfc00 => "a private address (fc00::/7)",
        _ if (s[0] & 0xffc0) == 0xfe80 => "a link-local address",
        _ if ip.is_multicast() => "a multicast address",
        // ::a.b.c.d (deprecated IPv4-compatible) and 64:ff9b::/96 (NAT64) embed IPv4.
        _ if s[..6] == [0; 6] || s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] => {
            let v4 = Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8);
            return blocked_v4(v4);
        }
        _ if s[0] == 0x2001 && s[1] == 0xdb8 => "a documentation address",
        _ => return None,
    })
}

/// Why `url` cannot be a webhook destination, judged from the URL alone:
/// not http(s), no host, credentials in it, or (unless `allow_private`) a
/// literal blocked IP or a `localhost` name. Names are checked again when
/// connecting.
pub fn check_url(url: &str, allow_private: bool) -> Result<Url, UrlProblem> {
    let u =
        Url::parse(url).map_err(|e| UrlProblem::Invalid(format!("url is not a valid URL: {e}")))?;
    if !matches!(u.scheme(), "http" | "https") {
        return Err(UrlProblem::Invalid(
            "url must start with http:// or https://".into(),
        ));
    }
    if !u.username().is_empty() || u.password().is_some() {
        return Err(UrlProblem::Invalid(
            "url must not carry credentials; the signature authenticates kefu".into(),
        ));
    }
    let host = match u.host() {
        Some(h) => h,
        None => return Err(UrlProblem::Invalid("url has no host".into())),
    };
    if allow_private {
        return Ok(u);
    }
    let ip = match host {
        url::Host::Ipv4(v4) => Some(IpAddr::V4(v4)),
        url::Host::Ipv6(v6) => Some(IpAddr::V6(v6)),
        url::Host::Domain(d) => {
            let d = d.trim_end_matches('.').to_ascii_lowercase();
            if d == "localhost" || d.ends_with(".localhost") {
                return Err(UrlProblem::Blocked(format!(
                    "{d} is a loopback name; kefu does not send webhooks into its own network unless [webhooks] allow_private_networks = true"
                )));
            }
            None
        }
    };
    match ip.and_then(|ip| blocked(ip).map(|why| (ip, why))) {
        Some((ip, why)) => Err(UrlProblem::Blocked(format!(
            "{ip} is {why}; kefu does not send webhooks into its own network unless [webhooks] allow_private_networks = true"
        ))),
        None => Ok(u),
    }
}

/// What is wrong with a webhook URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UrlProblem {
    /// Malformed, not http(s), or with credentials.
    Invalid(String),
    /// Points at an address the guard refuses.
    Blocked(String),
}

impl std::fmt::Display for UrlProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            UrlProblem::Invalid(m) | UrlProblem::Blocked(m) => f.write_str(m),
        }
    }
}

/// The HTTP client's resolver: the system's (getaddrinfo), minus blocked
/// addresses. A name left with no address fails the request with a
/// message that says why.
pub struct GuardedResolver {
    pub allow_private: bool,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let allow = self.allow_private;
        let host = name.as_str().to_string();
        Box::pin(async move {
            let found: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let mut refused = None;
            let ok: Vec<SocketAddr> = found
                .into_iter()
                .filter(|a| match blocked(a.ip()) {
                    Some(why) if !allow => {
                        refused = Some(format!("{host} resolves to {} ({why}): refused", a.ip()));
                        false
                    }
                    _ => true,
                })
                .collect();
            if ok.is_empty() {
                let msg = refused.unwrap_or_else(|| format!("{host} has no address"));
                return Err(Box::new(Blocked(msg)) as Box<dyn std::error::Error + Send + Sync>);
            }
            Ok(Box::new(ok.into_iter()) as Addrs)
        })
    }
}

/// The error a refused resolution fails the request with.
#[derive(Debug)]
pub struct Blocked(pub String);

impl std::fmt::Display for Blocked {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Blocked {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_what_it_should() {
        for bad in [
            "127.0.0.1",
            "127.5.6.7",
            "::1",
            "10.0.0.1",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "169.254.169.254",
            "169.254.1.1",
            "100.64.0.1",
            "100.127.255.255",
            "0.0.0.0",
            "::",
            "224.0.0.1",
            "255.255.255.255",
            "fc00::1",
            "fd12:3456::1",
            "fe80::1",
            "fd00:ec2::254",
            "ff02::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "64:ff9b::a9fe:a9fe",
            "192.0.2.1",
        ] {
            let ip: IpAddr = bad.parse().unwrap();
            assert!(blocked(ip).is_some(), "{bad} should be blocked");
        }
        for good in [
            "93.184.216.34",
            "8.8.8.8",
            "100.128.0.1",
            "172.32.0.1",
            "2606:4700::1111",
            "1.1.1.1",
        ] {
            let ip: IpAddr = good.parse().unwrap();
            assert_eq!(blocked(ip), None, "{good} should pass");
        }
    }

    #[test]
    fn urls() {
        for bad in [
            "http://127.0.0.1/hook",
            "http://[::1]:8080/",
            "http://169.254.169.254/latest/meta-data",
            "https://10.0.0.1/",
            "http://2130706433/",
            "http://0x7f.1/",
            "http://localhost:3000/",
            "http://api.localhost/",
            "http://[::ffff:7f00:1]/",
        ] {
            assert!(
                matches!(check_url(bad, false), Err(UrlProblem::Blocked(_))),
                "{bad}"
            );
            assert!(check_url(bad, true).is_ok(), "{bad} allowed by the setting");
        }
        for invalid in [
            "ftp://example.com/",
            "not a url",
            "https://user:pw@example.com/",
            "file:///etc/passwd",
        ] {
            assert!(
                matches!(check_url(invalid, true), Err(UrlProblem::Invalid(_))),
                "{invalid}"
            );
        }
        assert!(check_url("https://hooks.example.com/kefu?x=1", false).is_ok());
    }
}

#[cfg(test)]
mod connect_tests {
    use super::*;
    use std::sync::Arc;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// A name (not a literal) resolving to loopback: the client's resolver
    /// refuses it when connecting, so nothing reaches the listener; with
    /// the setting on, the same request goes through.
    #[tokio::test]
    async fn resolver_refuses_names_at_connect_time() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let accepted = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let n = accepted.clone();
        tokio::spawn(async move {
            while let Ok((mut s, _)) = listener.accept().await {
                n.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let mut buf = [0u8; 1024];
                let _ = s.read(&mut buf).await;
                let _ = s
                    .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
                    .await;
            }
        });
        let client = |allow_private| {
            reqwest::Client::builder()
                .dns_resolver(Arc::new(GuardedResolver { allow_private }))
                .no_proxy()
                .build()
                .unwrap()
        };
        let url = format!("http://localhost:{port}/");
        let err = client(false).post(&url).send().await.unwrap_err();
        let mut chain = err.to_string();
        let mut src = std::error::Error::source(&err);
        while let Some(s) = src {
            chain.push_str(&format!(": {s}"));
            src = s.source();
        }
        assert!(
            chain.contains("refused") && chain.contains("loopback"),
            "{chain}"
        );
        assert_eq!(accepted.load(std::sync::atomic::Ordering::SeqCst), 0);
        let ok = client(true).post(&url).send().await.unwrap();
        assert_eq!(ok.status(), 200);
        assert_eq!(accepted.load(std::sync::atomic::Ordering::SeqCst), 1);
    }
}
