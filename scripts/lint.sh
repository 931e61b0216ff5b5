#!/usr/bin/env bash
# Fails if any Swift file differs from what `swift format` (shipped with the toolchain) would
# write, under the project's .swift-format. To fix: swift format format -i -r Sources Tests Package.swift
set -euo pipefail
cd "$(dirname "$0")/.."
swift format lint --strict --parallel -r Sources Tests Package.swift
