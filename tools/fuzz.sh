#!/bin/sh
# Runs every fuzzer of fuzz/ (see README, "Fuzzing"):
#   tools/fuzz.sh <fuzz build> <exporter build> runs      fixed numbers of runs, for `make test`
#   tools/fuzz.sh <fuzz build> <exporter build> <seconds>   about that long each, for `make fuzz`
# libFuzzer's targets start from the seed corpora in fuzz/corpus and keep
# what they find in <fuzz build>/corpus; a crash or hang leaves its input
# in <fuzz build>/findings and fails the run. The byte-flip and config runs
# drive <exporter build>'s real binary (make them an ASan build to catch
# memory errors too).
set -eu

fuzz_build=$1 build=$2 mode=$3
work=$fuzz_build/findings
mkdir -p "$work" "$fuzz_build/corpus/http" "$fuzz_build/corpus/listen" "$fuzz_build/corpus/tls"
if [ "$mode" = runs ]; then
	http="-runs=10000" listen="-runs=200000" tls="-runs=3000" flips=60 configs=100 webs=20000
	seconds=0 seed=1
else
	http="-max_total_time=$mode" listen="-max_total_time=$mode" tls="-max_total_time=$mode"
	flips=0 configs=0 webs=0 seconds=$mode seed=$(date +%s)
fi

libfuzzer() { # <target> <options...>
	name=$1
	shift
	if ! (cd "$work" && "../fuzz_$name" "$@" "../corpus/$name" "$OLDPWD/fuzz/corpus/$name" \
		>"$name.log" 2>&1); then
		tail -40 "$work/$name.log" >&2
		echo "fuzz: fuzz_$name found a problem; its input is in $work" >&2
		exit 1
	fi
	echo "fuzz: $(grep -E '^Done [0-9]+ runs' "$work/$name.log") (fuzz_$name)"
}

libfuzzer http $http -dict="$PWD/fuzz/http.dict" -max_len=4096 -timeout=10
libfuzzer listen $listen -max_len=512
libfuzzer tls $tls -dict="$PWD/fuzz/http.dict" -max_len=4096 -timeout=10
luajit fuzz/bpf_flip.lua "$build" $flips $seconds $seed
luajit fuzz/config_mutate.lua "$build" $configs $seconds $seed
luajit fuzz/web_config_mutate.lua "$build" $webs $seconds $seed
