"""Audio compressed for the browser: MP3 through soundfile/libsndfile (LAME).

Why MP3: the soundfile wheels' libsndfile (1.2) writes Ogg Vorbis, Ogg Opus and MPEG
Layer III (``soundfile.available_formats()``). Every browser plays MP3, Safari included,
while Ogg (Vorbis or Opus) is not supported everywhere; and with this libsndfile MP3
encodes about twice as fast as Opus, whose complexity it cannot lower.

Clips are encoded with variable bit rate at :data:`MP3_QUALITY` (about 33 kbit/s, some
40 KB for the default 9.6 s render) at :data:`MP3_RATE`: at that quality LAME low-passes
at 16 kHz even from 48 kHz input, so 32 kHz loses nothing more and encodes in two thirds
of the time.
"""

from __future__ import annotations

import io

import numpy as np

from fmbench.audio import Audio

#: file extension and MIME type of the encoded clips
EXTENSION = "mp3"
MIME = "audio/mpeg"
#: libsndfile's compression level for MPEG (0 = best quality, 1 = smallest)
MP3_QUALITY = 0.7
#: the sample rate of the encoded clips (Hz)
MP3_RATE = 32_000


class EncodeError(RuntimeError):
    """This soundfile/libsndfile cannot write MP3."""


def mp3_supported() -> bool:
    """True when this soundfile/libsndfile build writes MPEG Layer III."""
    import soundfile as sf

    return "MP3" in sf.available_formats() and "MPEG_LAYER_III" in sf.available_subtypes("MP3")


def encode_mp3(audio: Audio) -> bytes:
    """``audio`` as VBR MP3 bytes (mono, resampled to :data:`MP3_RATE`)."""
    import soundfile as sf

    if not mp3_supported():
        raise EncodeError(
            "this soundfile/libsndfile cannot write MP3 (needs libsndfile >= 1.1 with LAME; "
            "`pip install -U soundfile`); see docs/report.md"
        )
    audio = audio.resample(MP3_RATE, quality="HQ")
    x = np.clip(audio.samples, -1.0, 1.0)
    if len(x) == 0:
        x = np.zeros(1, dtype=np.float32)
    buf = io.BytesIO()
    sf.write(
        buf,
        x,
        audio.sample_rate,
        format="MP3",
        subtype="MPEG_LAYER_III",
        compression_level=MP3_QUALITY,
        bitrate_mode="VARIABLE",
    )
    return buf.getvalue()
