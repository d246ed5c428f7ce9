#!/usr/bin/env bash
# README command 1: install what is missing, build, and run the default experiment: a width-128
# tau-ResNet (tau = 1/sqrt(L)) of depth 100 trained with SGD on the bundled Fashion-MNIST sample,
# then draw its loss and accuracy curves (taunet report) and print where the figure is.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
mkdir -p build
bash scripts/build.sh
run="runs/quickstart-$(date +%Y%m%d-%H%M%S)"
./build/taunet train --arch resnet --width 128 --depth 100 --tau '1/sqrt(L)' \
  --data fashion:data/fashion-sample --opt sgd --batch 128 --lr 0.05 --epochs 5 --eval-every 16 --out "$run"
./build/taunet report "$run"
