// Package bench measures the simulator's capacity: how fast it links devices, how
// many messages per second it relays and delivers, and how many connected devices one
// process holds, with the server's CPU time, memory and goroutines.
//
// The server runs in a child process (the test binary started again in server mode),
// so its CPU time, RSS and goroutine count are its own and not the load generator's.
// Load comes from two kinds of clients in the benchmark process:
//
//   - unmodified whatsmeow clients, for end-to-end numbers (Signal encryption and one
//     send at a time per client included);
//   - raw devices: a small client-side Noise and binary-node client that links like
//     whatsmeow does (registration payload, pair-device, ADV signature, 515, login)
//     and then pushes pre-encrypted <message> stanzas to other raw devices, so the
//     server relays them without decrypting, answering receipts and keepalives the
//     way whatsmeow does.
//
// Run with `make bench` or
//
//	go test -run '^$' -bench . -benchtime 1x ./bench
//
// With WASIM_BENCH_CPUPROFILE=<prefix> in the environment every server child writes
// its CPU profile to <prefix>.<pid> when it stops.
//
// Results and the machine they came from are recorded in BENCHMARKS.md.
package bench
