"""``cnn-design train``: one design to convergence beside the original network (real training)."""

from __future__ import annotations

import json


def test_train_the_best_design_of_a_run_and_compare_with_the_original(cli, tmp_path) -> None:
    run = tmp_path / "run"
    assert cli("search", "--space", "vgg_mini", "--evaluator", "cli_plugins:slow_fixture",
               "--method", "random", "--episodes", "3", "--quiet", "--out", run).returncode == 0
    best = json.loads((run / "summary.json").read_text())["recommendation"]  # the final choice
    done = cli("train", "--design", run, "--data", "digits", "--max-epochs", "2",
               "--patience", "1", timeout=300)
    assert done.returncode == 0, done.stderr
    assert f"design {tuple(best['design'])}" in done.stdout
    assert "test accuracy" in done.stdout and (run / "model.npz").is_file()
    assert "original" in done.stdout and "design vs original" in done.stdout
    document = json.loads((run / "final_training.json").read_text())
    mine, original = document["results"]
    assert mine["design"] == best["design"] and original["label"] == "original"
    for result in (mine, original):
        assert 1 <= result["epochs"] <= 2 and len(result["accuracy_curve"]) == result["epochs"]
        assert 0.0 < result["accuracy"] <= 1.0
        assert result["accuracy"] == max(result["accuracy_curve"])
        assert 0.0 < result["test_accuracy"] <= 1.0            # the held-out split


def test_a_saved_model_predicts_the_same_in_a_fresh_process(cli, tmp_path) -> None:
    import subprocess
    import sys

    import numpy as np

    model = tmp_path / "model.npz"
    done = cli("train", "--space", "vgg_mini", "--data", "digits", "--design", "3,0,1,2,1,0",
               "--max-epochs", "2", "--patience", "1", "--no-compare", "--save", model,
               timeout=300)
    assert done.returncode == 0, done.stderr
    script = (
        "import sys, numpy as np\n"
        "from cnn_design_env import load_model\n"
        "from cnn_design_env.train.data import load_digits\n"
        "m = load_model(sys.argv[1]); d = load_digits(seed=0)\n"
        "np.save(sys.argv[2], m.predict(d.x_test))\n"
        "hit = float((m.predict(d.x_test) == d.y_test).mean())\n"
        "print(m.extra['test_accuracy'], hit, *m.design)\n")
    outputs = []
    for k in range(2):
        out = tmp_path / f"pred{k}.npy"
        ran = subprocess.run([sys.executable, "-c", script, str(model), str(out)],
                             capture_output=True, text=True, timeout=120)
        assert ran.returncode == 0, ran.stderr
        outputs.append(np.load(out))
        stored, measured, *design = ran.stdout.split()
        assert design == ["3", "0", "1", "2", "1", "0"]
        assert float(stored) == float(measured)          # the test accuracy that train reported
    np.testing.assert_array_equal(outputs[0], outputs[1])
    assert outputs[0].shape == (180,)


def test_train_rejects_a_design_of_the_wrong_length(cli) -> None:
    done = cli("train", "--space", "vgg_mini", "--data", "digits", "--design", "1,2")
    assert done.returncode == 2 and "design has 2 actions" in done.stderr, done.stderr
