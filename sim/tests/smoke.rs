use model::{How, Personality};
use sim::{Action, SpecBuilder, World};
use std::sync::Arc;

#[test]
fn small_close() {
    let mut b = SpecBuilder::new(1);
    b.host("client", Personality::builtin("linux").unwrap());
    b.host("server", Personality::builtin("linux").unwrap());
    let l = b.slot("l");
    let c = b.slot("c");
    let s = b.slot("s");
    b.at(
        0,
        "server",
        Action::Listen {
            sock: l,
            port: 80,
            backlog: 16,
        },
    );
    b.then(
        "server",
        Action::Accept {
            listener: l,
            sock: s,
        },
    );
    b.then("server", Action::Read { sock: s, max: 1000 });
    b.then(
        "server",
        Action::Write {
            sock: s,
            bytes: 500,
        },
    );
    b.then(
        "server",
        Action::Shutdown {
            sock: s,
            how: How::Wr,
        },
    );
    b.then("server", Action::ReadToEof { sock: s });
    b.then("server", Action::Close { sock: s });
    b.at(
        1,
        "client",
        Action::Connect {
            sock: c,
            host: 1,
            port: 80,
        },
    );
    b.then(
        "client",
        Action::Write {
            sock: c,
            bytes: 1000,
        },
    );
    b.then("client", Action::ReadToEof { sock: c });
    b.then("client", Action::Close { sock: c });
    let spec = Arc::new(b.build());
    let mut w = World::new(spec.clone(), true);
    let v = w.run();
    println!("{}", sim::report::ladder(&spec, w.trace()));
    println!("{}", sim::report::verdict_text(&spec, &v));
}
