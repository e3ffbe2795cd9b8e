package datapath

// The C datapath lives in bpf/; its compiled object and Go bindings are
// committed here so that `go build` needs no clang. `make generate` reruns this.
//go:generate go tool bpf2go -tags linux -target bpfel -cc clang -cflags "-O2 -g -Wall -Werror" -type pal_config -type pal_ingress_key -type pal_ingress -type pal_lens -type pal_block_key -type pal_block -type pal_block_prefix -type pal_block_kind -type pal_src_key -type pal_org -type pal_ruleset -type pal_dst_key -type pal_dst -type pal_port_list -type pal_port_range -type pal_flow_key -type pal_flow -type pal_frag_key -type pal_frag -type pal_counter -type pal_rule_counter -type pal_verdict -type pal_drop_reason -type pal_org_state -type pal_proto_class -type pal_ingress_kind -type pal_flow_flags -type pal_config_flags -type pal_rule_flags -type pal_fwd_path -type pal_event -type pal_event_type -type pal_capture_meta -type pal_obs_stat -type pal_log_bucket -type pal_log_bucket_id Boundary ../../bpf/xdp_boundary.c -- -I/usr/include/x86_64-linux-gnu
//go:generate go tool bpf2go -tags linux -target bpfel -cc clang -cflags "-O2 -g -Wall -Werror" Mark ../../bpf/tc_mark.c -- -I/usr/include/x86_64-linux-gnu
