"""model_file: CNN.save and CNN.load -- round trips, training state, bad files, atomic writes."""

from __future__ import annotations

import ast
import copy
import json
import os
from pathlib import Path

import numpy as np
import pytest
from cnn_helpers import assert_same_weights, small_model, weights
from threadpoolctl import threadpool_limits

from course_utils import cnn as cnn_module
from course_utils import model_file
from course_utils.activations import LRELU, identity, sigmoid, softmax
from course_utils.cnn import CNN
from course_utils.costs import CostCrossEntropy
from course_utils.schedulers import AdagradMomentum, Adam, Momentum, RMS_prop


@pytest.fixture(autouse=True, scope="module")
def one_blas_thread():
    with threadpool_limits(limits=1, user_api="blas"):
        yield


def _saved_arrays(model, folder) -> dict[str, np.ndarray]:
    """Every array of the file model.save writes, by name (to make altered copies from)."""
    model.save(folder / "saved.npz")
    with np.load(folder / "saved.npz") as archive:
        return {name: archive[name] for name in archive.files}


def test_save_and_load_round_trip_predicts_identically(fitted, data, tmp_path):
    (X, _, _), (X_val, _, _) = data
    path = tmp_path / "model.npz"
    fitted.save(path)
    loaded = CNN.load(path)
    assert np.array_equal(loaded.predict_proba(X_val), fitted.predict_proba(X_val))
    assert np.array_equal(loaded.predict(X), fitted.predict(X))
    assert loaded.summary() == fitted.summary()
    assert [type(a) for a in loaded.layers] == [type(b) for b in fitted.layers]
    assert repr(loaded.scheduler) == repr(fitted.scheduler) and loaded.seed == fitted.seed
    # the file holds no pickled objects
    with np.load(path, allow_pickle=False) as archive:
        assert "architecture" in archive.files
    # same permissions as any other file we write (a temporary file would have 0600)
    reference = tmp_path / "reference.npz"
    np.savez(reference, a=np.ones(1))
    assert os.stat(path).st_mode == os.stat(reference).st_mode


def test_save_and_load_keep_every_layer_option(data, tmp_path):
    (X, t, _), _ = data
    model = CNN(CostCrossEntropy, RMS_prop(eta=1e-3, rho=0.9), seed=11)
    model.add_Convolution2DLayer(1, 3, 2, 3, 2, 1, pad=(1, 0), act_func=sigmoid, optimized=False)
    model.add_PoolingLayer(2, 1, 1, 1, "average")
    model.add_Convolution2DLayer(3, 2, 2, 2, pad="valid", act_func=identity)
    model.add_Convolution2DLayer(2, 2, 3, 2, pad="circular", act_func=LRELU)
    model.add_FlattenLayer()
    model.add_FullyConnectedLayer(5, LRELU, scheduler=Momentum(eta=1e-2, momentum=0.5))
    model.add_OutputLayer(2, softmax)
    model.fit(X, t, epochs=1, progress=False)
    model.save(tmp_path / "m.npz")
    loaded = CNN.load(tmp_path / "m.npz")
    assert np.array_equal(loaded.predict_proba(X), model.predict_proba(X))
    assert model_file.architecture_of(loaded) == model_file.architecture_of(model)


def test_load_rejects_missing_truncated_foreign_and_non_npz_files(fitted, tmp_path):
    good = tmp_path / "good.npz"
    fitted.save(good)
    content = good.read_bytes()
    truncated = tmp_path / "truncated.npz"
    truncated.write_bytes(content[: len(content) // 2])
    foreign = tmp_path / "foreign.npz"
    np.savez(foreign, weights=np.ones(3))
    text = tmp_path / "notes.txt"
    text.write_text("hello, this is not a model\n")
    single = tmp_path / "single.npy"
    np.save(single, np.ones(3))
    for path, match in [
        (tmp_path / "missing.npz", "no such file"),
        (truncated, "truncated"),
        (foreign, "not a CNN model"),
        (text, "not a complete .npz"),
        (single, "single array"),
    ]:
        with pytest.raises(ValueError, match=match) as error:
            CNN.load(path)
        assert path.name in str(error.value)


def test_load_rejects_weights_that_do_not_match_the_architecture(fitted, tmp_path):
    arrays = _saved_arrays(fitted, tmp_path)
    arrays["layer3_weights"] = arrays["layer3_weights"][:-1]
    np.savez(tmp_path / "bad_shape.npz", **arrays)
    with pytest.raises(ValueError, match=r"bad_shape.npz.*layer3_weights has shape"):
        CNN.load(tmp_path / "bad_shape.npz")
    del arrays["layer3_weights"]
    np.savez(tmp_path / "missing.npz", **arrays)
    with pytest.raises(ValueError, match=r"missing.npz.*missing \['layer3_weights'\]"):
        CNN.load(tmp_path / "missing.npz")
    arrays["architecture"] = np.array("{not json")
    np.savez(tmp_path / "bad_json.npz", **arrays)
    with pytest.raises(ValueError, match=r"bad_json.npz.*not valid JSON"):
        CNN.load(tmp_path / "bad_json.npz")


def test_save_refuses_functions_and_schedulers_that_are_not_course_utils(data, tmp_path):
    (X, t, _), _ = data

    def my_relu(x):
        return np.maximum(x, 0)

    model = CNN(seed=0)
    model.add_Convolution2DLayer(act_func=my_relu)
    model.add_FlattenLayer()
    model.add_OutputLayer(2, softmax)
    model.fit(X, t, epochs=1, progress=False)
    with pytest.raises(ValueError, match="act_func"):
        model.save(tmp_path / "m.npz")
    assert not os.listdir(tmp_path)

    class MyAdam(Adam):
        pass

    model = small_model(scheduler=MyAdam(eta=1e-3, rho=0.9, rho2=0.999))
    model.fit(X, t, epochs=1, progress=False)
    with pytest.raises(ValueError, match="scheduler"):
        model.save(tmp_path / "m.npz")
    with pytest.raises(ValueError, match="no weights yet"):
        small_model().save(tmp_path / "m.npz")


def test_an_interrupted_save_leaves_the_previous_file_intact(fitted, data, tmp_path, monkeypatch):
    (X, _, _), _ = data
    path = tmp_path / "model.npz"
    fitted.save(path)
    before = path.read_bytes()

    def failing_savez(file, **arrays):
        file.write(b"PK\x03\x04 half a zip file")
        raise KeyboardInterrupt

    monkeypatch.setattr(cnn_module.np, "savez", failing_savez)
    with pytest.raises(KeyboardInterrupt):
        fitted.save(path)
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["model.npz"]  # no temporary file left behind
    assert np.array_equal(CNN.load(path).predict(X), fitted.predict(X))


@pytest.mark.parametrize(
    "scheduler, dtype",
    [
        (Adam(eta=1e-2, rho=0.9, rho2=0.999), np.float64),
        (Adam(eta=1e-2, rho=0.9, rho2=0.999), np.float32),
        (AdagradMomentum(eta=1e-2, momentum=0.5), np.float64),
        (RMS_prop(eta=1e-2, rho=0.9), np.float64),
    ],
    ids=["adam", "adam-float32", "adagrad-momentum", "rms-prop"],
)
def test_a_loaded_model_continues_training_exactly_like_the_saved_one(
    data, tmp_path, scheduler, dtype
):
    (X, t, _), (X_val, t_val, _) = data
    X, t, X_val, t_val = (a.astype(dtype) for a in (X, t, X_val, t_val))
    model = small_model(seed=9, scheduler=scheduler)
    model.fit(X, t, epochs=2, batches=3, progress=False)
    model.save(tmp_path / "m.npz")
    loaded = CNN.load(tmp_path / "m.npz")
    # the file holds the scheduler states and the generator state, and no pickle
    with np.load(tmp_path / "m.npz", allow_pickle=False) as archive:
        assert "training_state" in archive.files
    original_scores = model.fit(X, t, epochs=1, batches=3, X_val=X_val, t_val=t_val,
                                progress=False)
    loaded_scores = loaded.fit(X, t, epochs=1, batches=3, X_val=X_val, t_val=t_val,
                               progress=False)
    for key in cnn_module.SCORE_KEYS:
        assert np.array_equal(original_scores[key], loaded_scores[key]), key
    assert_same_weights(weights(loaded), weights(model))
    for (_, _, mine), (_, _, theirs) in zip(loaded.parameter_schedulers, model.parameter_schedulers):
        assert vars(mine).keys() == vars(theirs).keys()
        for name, value in vars(theirs).items():
            if isinstance(value, np.ndarray):
                assert vars(mine)[name].dtype == value.dtype
                assert np.array_equal(vars(mine)[name], value), name
            else:
                assert vars(mine)[name] == value, name


def test_a_model_saved_before_its_schedulers_took_a_step_loads_with_fresh_schedulers(
    data, tmp_path
):
    (X, t, _), _ = data
    model = small_model(seed=3)
    model.build(X.shape[1:])  # weights exist, no step taken: the moments are None
    model.save(tmp_path / "m.npz")
    loaded = CNN.load(tmp_path / "m.npz")
    assert all(s.moment is None and s.t == 0 for _, _, s in loaded.parameter_schedulers)
    a = model.fit(X, t, epochs=1, batches=2, progress=False)
    b = loaded.fit(X, t, epochs=1, batches=2, progress=False)
    assert np.array_equal(a["train_error"], b["train_error"])


@pytest.mark.parametrize("version", [1, 3, 99, "2", True])
def test_load_refuses_a_file_of_another_version(fitted, tmp_path, version):
    arrays = _saved_arrays(fitted, tmp_path)
    architecture = json.loads(str(arrays.pop("architecture")[()]))
    architecture["version"] = version
    np.savez(tmp_path / "other.npz", architecture=np.array(json.dumps(architecture)), **arrays)
    with pytest.raises(ValueError, match=rf"other.npz.*version {version!r} is not .* version 2"):
        CNN.load(tmp_path / "other.npz")


def test_load_refuses_a_file_without_its_training_state(fitted, tmp_path):
    arrays = _saved_arrays(fitted, tmp_path)
    np.savez(tmp_path / "weights_only.npz",
             **{name: array for name, array in arrays.items() if not name.startswith(("state", "training"))})
    with pytest.raises(ValueError, match=r"weights_only.npz.*training state .* is missing"):
        CNN.load(tmp_path / "weights_only.npz")


def test_load_rejects_a_training_state_that_does_not_match_the_model(fitted, tmp_path):
    arrays = _saved_arrays(fitted, tmp_path)
    moments = [name for name in arrays if name.startswith("state_")]
    assert moments  # Adam's moments are stored as arrays
    bad = dict(arrays)
    bad[moments[0]] = bad[moments[0]][..., :1]
    np.savez(tmp_path / "bad_state.npz", **bad)
    with pytest.raises(ValueError, match=rf"bad_state.npz.*{moments[0]}"):
        CNN.load(tmp_path / "bad_state.npz")
    bad = dict(arrays)
    bad["training_state"] = np.array("[1, 2")
    np.savez(tmp_path / "bad_json.npz", **bad)
    with pytest.raises(ValueError, match=r"bad_json.npz.*training state"):
        CNN.load(tmp_path / "bad_json.npz")
    bad = dict(arrays)
    del bad[moments[0]]
    np.savez(tmp_path / "missing_state.npz", **bad)
    with pytest.raises(ValueError, match=rf"missing_state.npz.*{moments[0]} is missing"):
        CNN.load(tmp_path / "missing_state.npz")
    state = json.loads(str(arrays["training_state"][()]))
    for change, match in [
        (lambda s: s["schedulers"]["layer0_kernel"].update(t=1.5), r"layer0_kernel.t=1.5"),
        (lambda s: s["schedulers"]["layer0_kernel"].pop("t"), "scheduler keeps"),
        (lambda s: s["rng"].update(bit_generator="Nonsense"), "random generator state"),
    ]:
        bad_state = copy.deepcopy(state)
        change(bad_state)
        np.savez(tmp_path / "bad.npz", **{**arrays, "training_state": np.array(json.dumps(bad_state))})
        with pytest.raises(ValueError, match=rf"bad.npz.*{match}"):
            CNN.load(tmp_path / "bad.npz")
    del arrays["training_state"]
    np.savez(tmp_path / "no_state.npz", **arrays)
    with pytest.raises(ValueError, match=r"no_state.npz.*training state .*missing"):
        CNN.load(tmp_path / "no_state.npz")


def test_save_into_a_missing_folder_or_onto_a_folder_says_what_to_do(fitted, tmp_path):
    missing = tmp_path / "no_such_folder" / "m.npz"
    with pytest.raises(ValueError, match=r"no_such_folder.*does not exist.*os.makedirs") as error:
        fitted.save(missing)
    assert ".tmp" not in str(error.value)
    with pytest.raises(ValueError, match=r"is a folder.*file name") as error:
        fitted.save(tmp_path)
    assert str(tmp_path) in str(error.value) and ".tmp" not in str(error.value)
    assert os.listdir(tmp_path) == []


def test_model_file_uses_only_the_public_interface_of_cnn():
    # build, input_shape, parameter_schedulers, random_state, layers, ...: no private attributes
    source = Path(model_file.__file__).read_text()
    private = sorted({
        node.attr for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
        and node.value.id == "model" and node.attr.startswith("_")
    })
    assert private == [], f"model_file reads the model's private attributes {private}"
