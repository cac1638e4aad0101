#!/bin/sh
# Writes a BPF C source with N sk_lookup programs (a hostile object: the
# daemon must answer within bounded time whatever the count).
n=${1:?usage: gen-many-progs.sh N OUT}
out=${2:?usage: gen-many-progs.sh N OUT}
{
        echo '#include "vmlinux.h"'
        echo '#include <bpf/bpf_helpers.h>'
        i=0
        while [ $i -lt "$n" ]; do
                echo "SEC(\"sk_lookup\") int p$i(struct bpf_sk_lookup *ctx) { return ctx->local_port == $i ? SK_DROP : SK_PASS; }"
                i=$((i + 1))
        done
        echo 'char LICENSE[] SEC("license") = "GPL";'
} > "$out.tmp" && mv "$out.tmp" "$out"
