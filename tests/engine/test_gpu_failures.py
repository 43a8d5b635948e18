"""A GPU that cannot build or launch jevons' kernels: one line naming the backend and the
reason, never a traceback; a fault of jevons' own still shows its traceback."""

import pytest
from numba.core.errors import TypingError
from numba.cuda.cudadrv.driver import CudaAPIError

from jevons.engine.execution import backends, run
from jevons.engine.execution.settings import RunSettings
from jevons.errors import BackendUnavailableError, InternalError
from tests.conftest import HAS_GPU


def failing_gpu(monkeypatch, name, error, when="launch"):
    def simulate(plan, inputs, trajectories, key, on_window):
        raise error

    def load():
        if when == "load":  # numba-cuda's first touch of the driver, or a cache that fails
            raise error
        return simulate

    cpu = backends.get_backend("cpu")
    fake = backends.Backend(name, "test", lambda: True, load, cpu.reducer)
    monkeypatch.setattr(run, "get_backend", lambda requested: fake)


LAUNCH = CudaAPIError(
    222, "Call to cuModuleLoadDataEx results in CUDA_ERROR_UNSUPPORTED_PTX_VERSION"
)
COMPILE = TypingError("No implementation of function Function(<function shared.array>)")


@pytest.mark.parametrize("name", ["cuda", "cupy"])
def test_a_driver_refusal_is_one_line_naming_the_backend(monkeypatch, hand_scenario, name):
    failing_gpu(monkeypatch, name, LAUNCH)
    with pytest.raises(BackendUnavailableError) as caught:
        run.run_scenario(hand_scenario, RunSettings(trajectories=8))
    message = str(caught.value)
    assert "\n" not in message
    assert f"backend '{name}' could not run on this GPU" in message
    assert "CUDA_ERROR_UNSUPPORTED_PTX_VERSION" in message and "--backend cpu" in message


def test_a_failure_while_loading_the_backend_is_one_line(monkeypatch, hand_scenario):
    failing_gpu(monkeypatch, "cuda", LAUNCH, when="load")
    with pytest.raises(BackendUnavailableError, match="could not run on this GPU"):
        run.run_scenario(hand_scenario, RunSettings(trajectories=8))


def test_out_of_gpu_memory_in_an_exact_run_says_what_to_do(monkeypatch, hand_scenario):
    """A sketched run retries smaller chunks; an exact one is one chunk, and says so."""
    out_of_memory = CudaAPIError(2, "Call to cuMemAlloc results in CUDA_ERROR_OUT_OF_MEMORY")
    failing_gpu(monkeypatch, "cuda", out_of_memory)
    with pytest.raises(BackendUnavailableError, match=r"ran out of GPU memory.*--summary sketch"):
        run.run_scenario(hand_scenario, RunSettings(trajectories=8, summary="exact"))


def test_a_launch_the_driver_refuses_as_configured_is_an_internal_error(
    monkeypatch, hand_scenario
):
    too_many_blocks = CudaAPIError(1, "Call to cuLaunchKernel results in CUDA_ERROR_INVALID_VALUE")
    failing_gpu(monkeypatch, "cuda", too_many_blocks)
    with pytest.raises(InternalError, match="could not be launched as configured"):
        run.run_scenario(hand_scenario, RunSettings(trajectories=8))


def test_a_kernel_that_does_not_compile_is_an_internal_error(monkeypatch, hand_scenario):
    failing_gpu(monkeypatch, "cuda", COMPILE)
    with pytest.raises(InternalError, match="a kernel did not compile for this GPU"):
        run.run_scenario(hand_scenario, RunSettings(trajectories=8))


def test_a_cupy_failure_is_one_line(monkeypatch, hand_scenario):
    error_type = type("CUDARuntimeError", (RuntimeError,), {"__module__": "cupy_backends.cuda"})
    failing_gpu(monkeypatch, "cupy", error_type("cudaErrorNoKernelImageForDevice"))
    with pytest.raises(BackendUnavailableError, match="cudaErrorNoKernelImageForDevice"):
        run.run_scenario(hand_scenario, RunSettings(trajectories=8))


def test_other_faults_keep_their_traceback(monkeypatch, hand_scenario):
    """A bug of jevons' own on a GPU backend, or a numba error on the CPU, is not re-worded."""
    failing_gpu(monkeypatch, "cuda", IndexError("index 9 is out of bounds"))
    with pytest.raises(IndexError):
        run.run_scenario(hand_scenario, RunSettings(trajectories=8))
    failing_gpu(monkeypatch, "cpu", COMPILE)
    with pytest.raises(TypingError):
        run.run_scenario(hand_scenario, RunSettings(trajectories=8))


def test_the_command_line_prints_one_line_and_exits_2(monkeypatch, hand_dict, tmp_path):
    import tomlkit
    from typer.testing import CliRunner

    from jevons.cli.app import app

    failing_gpu(monkeypatch, "cuda", LAUNCH)
    scenario = tmp_path / "hand.toml"
    scenario.write_text(tomlkit.dumps(hand_dict))
    result = CliRunner().invoke(app, ["run", str(scenario), "-o", str(tmp_path / "r.nc")])
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and "backend 'cuda' could not run on this GPU" in lines[0]
    assert not (tmp_path / "r.nc").exists()


@pytest.mark.skipif(HAS_GPU, reason="on a GPU node the cupy backend may run")
def test_the_cupy_backend_is_refused_without_a_gpu(hand_dict, tmp_path):
    """No GPU here (CuPy not installed, or installed and seeing none): one line, exit 2."""
    import tomlkit
    from typer.testing import CliRunner

    from jevons.cli.app import app

    scenario = tmp_path / "hand.toml"
    scenario.write_text(tomlkit.dumps(hand_dict))
    result = CliRunner().invoke(
        app, ["run", str(scenario), "--backend", "cupy", "-o", str(tmp_path / "r.nc")]
    )
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1, result.output
    assert "backend 'cupy' cannot run on this machine" in lines[0]
    assert "NVIDIA GPU" in lines[0] and "CuPy" in lines[0] and "pip install" in lines[0]
    assert not (tmp_path / "r.nc").exists()
