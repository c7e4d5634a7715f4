//! The client address the throttle counts against.
use std::net::{IpAddr, Ipv6Addr, SocketAddr};

/// The client address: the TCP peer, or the right-most `X-Forwarded-For` hop that is not
/// a trusted proxy when the peer is one. A hop may carry a port (`198.51.100.9:4711`,
/// `[2001:db8::1]:443`) or IPv6 brackets (`[2001:db8::1]`); a hop that is no address at
/// all ends the walk at the last trusted hop.
pub fn client_ip(peer: IpAddr, forwarded_for: Option<&str>, trusted: &[ipnet::IpNet]) -> IpAddr {
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|n| n.contains(ip));
    if !is_trusted(&peer) {
        return peer;
    }
    let Some(header) = forwarded_for else {
        return peer;
    };
    let mut last = peer;
    for hop in header.rsplit(',') {
        match parse_hop(hop) {
            Some(ip) if is_trusted(&ip) => last = ip,
            Some(ip) => return ip,
            None => return last,
        }
    }
    last
}

/// One `X-Forwarded-For` hop: an address, with or without a port.
fn parse_hop(hop: &str) -> Option<IpAddr> {
    let hop = hop.trim();
    if let Ok(ip) = hop.parse::<IpAddr>() {
        return Some(ip);
    }
    if let Ok(socket) = hop.parse::<SocketAddr>() {
        return Some(socket.ip());
    }
    hop.strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .and_then(|h| h.parse::<Ipv6Addr>().ok())
        .map(IpAddr::V6)
}
