//! The stand-in OPA server of the tests (`pfm_testkit::opa_standin`, regorus behind OPA's
//! Data API), as a process for the sidecar benchmark. It is not OPA: no OPA binary can be
//! installed here. Used by benches/opa.sh.
//!
//!   cargo run --release --example opa_standin -- POLICIES_DIR PORT [REVISION]
//!
//! Serves until killed.

use pfm_testkit::opa_standin::OpaStandIn;
use std::path::Path;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let (dir, port, revision) = match args.as_slice() {
        [_, dir, port] => (dir, port, None),
        [_, dir, port, rev] => (dir, port, Some(rev.as_str())),
        _ => return Err("usage: opa_standin POLICIES_DIR PORT [REVISION]".into()),
    };
    let _server = OpaStandIn::start_on(Path::new(dir), "agentic/allow", revision, port.parse()?);
    println!("opa stand-in listening on 127.0.0.1:{port}");
    loop {
        std::thread::park();
    }
}
