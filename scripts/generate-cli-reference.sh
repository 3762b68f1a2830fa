#!/bin/sh
# Regenerates the command-line reference article from `kandinsky help <command>`.
# Usage: scripts/generate-cli-reference.sh [path/to/kandinsky]   (default: .build/debug/kandinsky)
set -eu
cd "$(dirname "$0")/.."
tool="${1:-.build/debug/kandinsky}"
out="Sources/KandinskyExperiments/KandinskyExperiments.docc/Articles/CommandLineReference.md"
commands=$("$tool" --help | awk '/SUBCOMMANDS:$/ { inside = 1; next } inside && /^  [a-z]/ { print $1 }')
{
    echo "# Command-line reference"
    echo
    echo "Every subcommand of the \`kandinsky\` tool, with its options and defaults."
    echo
    echo "## Overview"
    echo
    echo "The experiment commands (\`pipeline\`, \`train\`, \`calibrate\`, \`eval\`, \`predict\`) are"
    echo "configured by composed YAML files (the built-in ones are in \`Sources/KandinskyExperiments/configs\`,"
    echo "composed by \`\`ConfigComposer\`\`) and \`key=value\` overrides; the"
    echo "others take ordinary options. Errors are printed as one line on stderr naming the file, the"
    echo "field and what was expected: the exit status is 1 when a command fails and 2 for a usage error"
    echo "(an unknown option, a missing argument). Set \`KANDINSKY_PROGRESS=off\` to silence progress bars,"
    echo "and \`KANDINSKY_THREADS=n\` to cap the worker and OpenBLAS threads at n (\`kandinsky info\` with no"
    echo "file prints them)."
    echo
    echo "## Configuration values and limits"
    echo
    echo "Every key the experiment commands read has a declared type, range and meaning;"
    echo "\`kandinsky help-config\` prints them all (\`kandinsky help-config calibration\` one section)."
    echo "A composed configuration is checked against them, and against the conditions between keys"
    echo "(a class index below 1 + the number of \`data.categories\`, \`data.dims\` divisible by"
    echo "2^\`model.net.depth\`, …), before any work starts or any file is written. The error names the"
    echo "key, the value, the allowed range and the file or override the value came from:"
    echo
    echo "\`\`\`"
    echo "Error: config key 'data.batch_size' is 0, expected an integer in 1...1024 (from override 'data.batch_size=0')"
    echo "\`\`\`"
    echo
    echo "Some ranges are limits that keep memory bounded by the data rather than by a number in a"
    echo "file: \`data.dims\` at most 8192 pixels a side and 4,194,304 pixels in all (2048 × 2048);"
    echo "\`model.net.depth\` at most 8 and \`model.net.channels\` × 2^(depth − 1) at most 2048;"
    echo "\`calibration.curve_count\` at most 1000; \`evaluation.bins\` and \`evaluation.ece_bins\` at most"
    echo "1000; \`data.batch_size\` at most 1024; at most 64 categories."
    echo
    echo "Every configuration file and override is at most 100 levels deep (deeper YAML would overflow"
    echo "the parser's stack; it is refused before parsing) and holds at most 100,000 values once its"
    echo "aliases and \`\${…}\` references are expanded (nine lines of nested aliases describe 10⁹)."
    echo
    echo "The schema, as \`kandinsky help-config\` prints it:"
    echo
    echo "\`\`\`"
    "$tool" help-config
    echo "\`\`\`"
    echo
    echo "This page is generated from the tool's own help by \`scripts/generate-cli-reference.sh\`."
    echo
    echo "\`\`\`"
    "$tool" --help
    echo "\`\`\`"
    for command in $commands; do
        echo
        echo "### kandinsky $command"
        echo
        echo "\`\`\`"
        "$tool" help "$command"
        echo "\`\`\`"
    done
} > "$out"
echo "wrote $out"
