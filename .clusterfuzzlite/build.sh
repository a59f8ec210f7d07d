#!/bin/bash -eu
# Install pagefuzz (pinned dependencies from pyproject.toml), then package every *_fuzzer.py as
# a self-contained libFuzzer target in $OUT (compile_python_fuzzer uses PyInstaller).
pip3 install .
for fuzzer in $(find "$SRC/pagefuzz/fuzz" -name '*_fuzzer.py'); do
  compile_python_fuzzer "$fuzzer" --add-data "$SRC/pagefuzz/corpus:corpus"
done
# Seed corpus: the raw inputs of promoted findings, if any were kept.
if compgen -G "$SRC/pagefuzz/corpus/findings/*.bin" > /dev/null; then
  zip -j "$OUT/differential_fuzzer_seed_corpus.zip" "$SRC"/pagefuzz/corpus/findings/*.bin
fi
