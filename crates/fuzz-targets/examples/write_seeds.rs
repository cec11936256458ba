//! Writes the seed corpus under `crates/fuzz-targets/seeds/<target>/`, replacing the
//! files of the same name: run it after an event message changes.

use std::{fs, io, path::Path};

fn main() -> io::Result<()> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("seeds");
    let seeds = kenduren_fuzz_targets::seeds::all();
    for s in &seeds {
        let dir = root.join(s.target);
        fs::create_dir_all(&dir)?;
        fs::write(dir.join(&s.name), &s.data)?;
    }
    println!("wrote {} seeds under {}", seeds.len(), root.display());
    Ok(())
}
