import torch

from spikegrad.analysis.spike_train_plots import plot_convergence, plot_output_rasters

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def test_writes_png_files(tmp_path):
    curves = plot_convergence({"full": [0.1, 0.5, 0.97], "output only": [0.1, 0.2, 0.3]}, tmp_path / "sub" / "c.png")
    desired = torch.zeros(100, 2, 1)
    desired[[20, 70], :, 0] = 1.0
    before, after = torch.zeros_like(desired), desired.clone()
    before[50, 1, 0] = 1.0
    raster = plot_output_rasters(desired, before, after, 0.1, tmp_path / "r.png")
    for path in (curves, raster):
        data = path.read_bytes()
        assert data[:8] == PNG_MAGIC and len(data) > 2000
