"""Attribution: channel credit under seven models, uncertainty, ROI and post revenue impact."""
