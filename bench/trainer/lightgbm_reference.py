"""LightGBM side of the trainer benchmarks; run by trainer-bench.ts inside bench/.venv.

  timing DIR: train on DIR/train.f32 + DIR/train.u8 with DIR/params.json, `reps` times; write DIR/lightgbm-timing.json
  cv DIR:     cross-validate on DIR/features.csv with the folds of DIR/folds.csv; write DIR/lightgbm-cv.json
"""
import json
import sys
import time

import lightgbm as lgb
import numpy as np


def timing(folder):
    with open(f"{folder}/params.json") as handle:
        spec = json.load(handle)
    cols = spec["cols"]
    x = np.fromfile(f"{folder}/train.f32", dtype=np.float32).reshape(-1, cols)
    y = np.fromfile(f"{folder}/train.u8", dtype=np.uint8)
    x_test = np.fromfile(f"{folder}/test.f32", dtype=np.float32).reshape(-1, cols)
    params = {
        "objective": "binary",
        "num_leaves": spec["numLeaves"],
        "learning_rate": spec["learningRate"],
        "max_bin": spec["maxBins"],
        "min_data_in_leaf": spec["minSamplesLeaf"],
        "min_sum_hessian_in_leaf": spec["minChildWeight"],
        "lambda_l2": spec["lambdaL2"],
        "num_threads": spec["threads"],
        "seed": 0,
        "deterministic": True,
        "verbose": -1,
    }
    seconds = []
    booster = None
    for _ in range(spec["reps"]):
        start = time.perf_counter()
        # Dataset construction (binning) is part of training, as it is for the TypeScript trainer.
        data = lgb.Dataset(x, y, params={"max_bin": spec["maxBins"], "verbose": -1})
        booster = lgb.train(params, data, num_boost_round=spec["numTrees"])
        seconds.append(time.perf_counter() - start)
    prediction = booster.predict(x_test)
    with open(f"{folder}/lightgbm-timing.json", "w") as handle:
        json.dump({"seconds": seconds, "trees": booster.num_trees(), "version": lgb.__version__,
                   "threads": spec["threads"], "prediction": prediction.tolist()}, handle)


def stratified_holdout(labels, fraction, seed):
    random = np.random.RandomState(seed)
    holdout = np.zeros(len(labels), dtype=bool)
    for label in (1, 0):
        members = np.flatnonzero(labels == label)
        random.shuffle(members)
        holdout[members[: int(round(len(members) * fraction))]] = True
    return holdout


def cv(folder):
    with open(f"{folder}/features.csv") as handle:
        header = handle.readline().strip().split(",")
    table = np.genfromtxt(f"{folder}/features.csv", delimiter=",", skip_header=1, dtype=np.float64)
    x, y = table[:, :-1], table[:, -1].astype(np.int32)
    folds = np.genfromtxt(f"{folder}/folds.csv", delimiter=",", skip_header=1, dtype=np.int64)[:, 1]
    assert header[-1] == "label" and len(folds) == len(y)
    default_params = {"objective": "binary", "verbose": -1, "seed": 0, "deterministic": True}
    same_params = {**default_params, "learning_rate": 0.05, "num_leaves": 31, "min_data_in_leaf": 20, "max_bin": 255}
    result = {"version": lgb.__version__, "default": [], "same_protocol": [], "same_protocol_trees": []}
    for fold in range(int(folds.max()) + 1):
        train, test = folds != fold, folds == fold
        booster = lgb.train(default_params, lgb.Dataset(x[train], y[train]), num_boost_round=100)
        result["default"].append(booster.predict(x[test]).tolist())
        # The TypeScript protocol: early stopping on a stratified 20 % of the training fold, refit on all of it.
        holdout = stratified_holdout(y[train], 0.2, fold)
        x_fit, y_fit = x[train][~holdout], y[train][~holdout]
        x_val, y_val = x[train][holdout], y[train][holdout]
        inner = lgb.train(same_params, lgb.Dataset(x_fit, y_fit), num_boost_round=2000,
                          valid_sets=[lgb.Dataset(x_val, y_val)],
                          callbacks=[lgb.early_stopping(50, verbose=False)])
        trees = max(1, inner.best_iteration)
        booster = lgb.train(same_params, lgb.Dataset(x[train], y[train]), num_boost_round=trees)
        result["same_protocol"].append(booster.predict(x[test]).tolist())
        result["same_protocol_trees"].append(trees)
    with open(f"{folder}/lightgbm-cv.json", "w") as handle:
        json.dump(result, handle)


if __name__ == "__main__":
    {"timing": timing, "cv": cv}[sys.argv[1]](sys.argv[2])
