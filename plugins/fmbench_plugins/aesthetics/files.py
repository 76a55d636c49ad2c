"""The weight file the ``audiobox`` metric declares (no imports beyond fmbench core)."""

from __future__ import annotations

from fmbench.components import ModelFile

AUDIOBOX_FILE = ModelFile(
    "audiobox-aesthetics-checkpoint.pt",
    url="https://dl.fbaipublicfiles.com/audiobox-aesthetics/checkpoint.pt",
    description="Meta's audiobox-aesthetics predictor (checkpoint.pt of the "
    "facebook/audiobox-aesthetics repository; weights CC-BY-4.0): a dict with state_dict "
    "('model.'-prefixed keys), model_cfg and target_transform",
    format="torch",
)
