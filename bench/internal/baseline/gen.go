package baseline

// The baseline programs' C is in bench/bpf; the object and bindings are
// committed here so that running the suite needs no clang.
//go:generate go tool bpf2go -tags linux -target bpfel -cc clang -cflags "-O2 -g -Wall -Werror" Baseline ../../bpf/baseline.c -- -I/usr/include/x86_64-linux-gnu
