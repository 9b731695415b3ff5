//! A node's view of the cluster, read from CLUSTER NODES: who is master of
//! which slots, who replicates whom, who is failing.

use std::ops::RangeInclusive;

/// One line of CLUSTER NODES.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeEntry {
    pub id: String,
    pub port: u16,
    pub flags: Vec<String>,
    /// The master's id, for a replica.
    pub master_id: Option<String>,
    pub slots: Vec<RangeInclusive<u16>>,
}

impl NodeEntry {
    pub fn is_master(&self) -> bool {
        self.has_flag("master")
    }

    pub fn is_myself(&self) -> bool {
        self.has_flag("myself")
    }

    /// Suspected or agreed down, or not yet (or no longer) reachable.
    pub fn is_failing(&self) -> bool {
        ["fail", "fail?", "handshake", "noaddr"]
            .iter()
            .any(|flag| self.has_flag(flag))
    }

    pub fn owns(&self, slot: u16) -> bool {
        self.slots.iter().any(|range| range.contains(&slot))
    }

    pub fn slot_count(&self) -> usize {
        self.slots.iter().map(|range| range.len()).sum()
    }

    fn has_flag(&self, flag: &str) -> bool {
        self.flags.iter().any(|f| f == flag)
    }
}

/// The nodes of a CLUSTER NODES reply.
///
/// A line reads `<id> <ip:port@bus[,hostname]> <flags> <master|-> <ping>
/// <pong> <epoch> <link> <slot>...`; slots in migration (`[...]`) are
/// skipped: the harness never migrates.
pub fn parse(text: &str) -> Result<Vec<NodeEntry>, String> {
    text.lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| {
            parse_line(line).ok_or_else(|| format!("unreadable CLUSTER NODES line {line:?}"))
        })
        .collect()
}

fn parse_line(line: &str) -> Option<NodeEntry> {
    let fields: Vec<&str> = line.split_whitespace().collect();
    if fields.len() < 8 {
        return None;
    }
    let address = fields[1].split([',', '@']).next()?;
    let port = address.rsplit_once(':')?.1.parse().ok()?;
    let slots = fields[8..]
        .iter()
        .filter(|slot| !slot.starts_with('['))
        .map(|slot| match slot.split_once('-') {
            Some((start, end)) => Some(start.parse().ok()?..=end.parse().ok()?),
            None => {
                let single = slot.parse().ok()?;
                Some(single..=single)
            }
        })
        .collect::<Option<Vec<_>>>()?;
    Some(NodeEntry {
        id: fields[0].to_owned(),
        port,
        flags: fields[2].split(',').map(str::to_owned).collect(),
        master_id: (fields[3] != "-").then(|| fields[3].to_owned()),
        slots,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const NODES: &str = "\
07c37dfeb235213a872192d90877d0cd55635b91 127.0.0.1:30004@31004,host slave e7d1eecce10fd6bb5eb35b9f99a514335d9ba9ca 0 1426238317239 4 connected
e7d1eecce10fd6bb5eb35b9f99a514335d9ba9ca 127.0.0.1:30001@31001 myself,master - 0 0 1 connected 0-5460 [5461->-67ed2db8d677e59ec4a4cefb06858cf2a1a89fa1]
67ed2db8d677e59ec4a4cefb06858cf2a1a89fa1 127.0.0.1:30002@31002 master,fail? - 0 1426238316232 2 connected 5461-10922 16000
6ec23923021cf3ffec47632106199cb7f496ce01 :0@0 slave,noaddr 67ed2db8d677e59ec4a4cefb06858cf2a1a89fa1 0 0 0 disconnected
";

    #[test]
    fn cluster_nodes_lines_are_read() {
        let nodes = parse(NODES).unwrap();
        assert_eq!(nodes.len(), 4);
        assert_eq!(nodes[0].port, 30004);
        assert!(!nodes[0].is_master());
        assert_eq!(nodes[0].master_id.as_deref(), Some(nodes[1].id.as_str()));
        assert!(nodes[1].is_master() && nodes[1].is_myself() && !nodes[1].is_failing());
        assert_eq!(nodes[1].slots, vec![0..=5460]);
        assert!(nodes[2].is_failing());
        assert!(nodes[2].owns(16000) && nodes[2].owns(5461) && !nodes[2].owns(5460));
        assert_eq!(nodes[2].slot_count(), 5462 + 1);
        assert_eq!(nodes[3].port, 0);
        assert!(nodes[3].is_failing());
    }

    #[test]
    fn garbage_is_an_error() {
        assert!(parse("not a cluster nodes line").is_err());
    }
}
