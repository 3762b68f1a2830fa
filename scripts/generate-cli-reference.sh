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
    echo "others take ordinary options. Errors are printed as one line naming the file, the field and"
    echo "what was expected, and the exit status is non-zero. Set \`KANDINSKY_PROGRESS=off\` to silence"
    echo "progress bars, and \`KANDINSKY_THREADS=n\` to cap the worker and OpenBLAS threads at n"
    echo "(\`kandinsky info\` with no file prints them)."
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
