//! The `/proc/sys/net/ipv4` range files.

use super::{CaptureError, err};
use crate::ports::PortRange;

/// `/proc/sys/net/ipv4/ip_local_reserved_ports`: `8080,30000-32767` (empty: none).
pub fn port_list(text: &str) -> Result<Vec<PortRange>, CaptureError> {
    let t = text.trim();
    if t.is_empty() {
        return Ok(Vec::new());
    }
    t.split(',')
        .map(|part| {
            let (a, b) = part.split_once('-').unwrap_or((part, part));
            match (a.trim().parse::<u16>(), b.trim().parse::<u16>()) {
                (Ok(a), Ok(b)) => PortRange::new(a, b).ok_or(()),
                _ => Err(()),
            }
            .or_else(|()| err(1, format!("{part:?} is not a port or range")))
        })
        .collect()
}

/// `/proc/sys/net/ipv4/ip_local_port_range`: two numbers separated by white space.
pub fn two_numbers(text: &str) -> Result<PortRange, CaptureError> {
    let nums: Vec<u16> = text
        .split_whitespace()
        .filter_map(|t| t.parse().ok())
        .collect();
    match nums.as_slice() {
        [a, b] => {
            PortRange::new(*a, *b).map_or_else(|| err(1, format!("range {a}-{b} is backwards")), Ok)
        }
        _ => err(
            1,
            format!("expected two port numbers, found {:?}", text.trim()),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists() {
        assert_eq!(port_list("").unwrap(), vec![]);
        assert_eq!(
            port_list("8080,30000-32767\n").unwrap(),
            vec![
                PortRange::new(8080, 8080).unwrap(),
                PortRange::new(30000, 32767).unwrap()
            ]
        );
        assert!(port_list("8080,x").is_err());
        assert_eq!(
            two_numbers("32768\t60999\n").unwrap(),
            PortRange::new(32768, 60999).unwrap()
        );
        assert!(two_numbers("1").is_err());
    }
}
