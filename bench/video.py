"""Video frames: labelcheck's full scan of a 60 s 1080p30 clip against FFmpeg's bare decode.

Same machine, same run, same file:

1. ``ffmpeg -i clip.mp4 -f null -``: FFmpeg (Debian) decodes every frame and throws it away; the
   floor any "look at every frame" checker pays before reading anything.
2. labelcheck's full scan (``labelcheck.scan``: container, C2PA/XMP/AIGC, frame sampling, OCR,
   policy), in-process with the OCR models loaded (as in a batch), and the CLI cold start.
3. The naive baseline: PyAV decodes every frame and OCR reads one frame per second.
4. The first two again on the clip re-encoded by ffmpeg's CLI (one slice per frame, see
   `make_one_slice_clip`).
5. All of 1-3 on a camera-like clip (`make_camera_clip`): fine texture and film grain over the
   panned scene, so that x264 spends its 5 Mbit/s on detail and FFmpeg's decode costs what real
   footage costs; encoded by ffmpeg's CLI with libx264's defaults (``medium``).

6. Long and vertical clips (`long_benchmark`, also ``--long-only``): an 85 s 640x480 phone MOV
   (`make_phone_clip`: handheld camera over a detailed scene, H.264 with a keyframe every
   second, AAC audio), with and without a label, and a 60 s 1080x1920 vertical ad (the clip
   of step 1 made vertical); each scan's time against the clip's duration and against FFmpeg's
   decode of the same file in the same run.

Each timing is the best of ``--repeat`` runs; the load average is printed next to each. Then
memory: peak RSS of a full scan, in a fresh process each, of the 60 s clip and of a 10-minute
clip (the 60 s clip's packets repeated ten times, stream-copied: no re-encoding), and of the
frame analysis alone (sampler + label timeline) on both.

The clip (a panned advert scene with a bouncing disc, an "AI generated" badge in the top-right
corner the whole time, libx264 ``veryfast`` at 5 Mbit/s, x264's default GOP) is generated once
into ``bench/out/``. Usage: ``python bench/video.py [--repeat N] [--skip-memory]
[--camera-only] [--long-only]``.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from machine import cpu_model

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out"
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "test_media"))

SECONDS, FPS, WIDTH, HEIGHT = 60, 30, 1920, 1080
PHONE_SECONDS, PHONE_SIZE = 85, (640, 480)  # the phone MOV
PHONE_SEED = 85
VERTICAL_SIZE = (1080, 1920)
BITRATE = "5M"
LOOPS = 10  # the long clip: the 60 s clip ten times
CAMERA_SEED = 2026  # the camera clip's texture and grain
TEXTURE_SIGMA, GRAIN_SIGMA = 20, 16  # grey levels; chosen for FFmpeg's decode cost, see docs


def make_clip(path: Path, size: tuple[int, int] = (WIDTH, HEIGHT)) -> Path:
    """The 60 s 30 fps H.264 clip (1080p, or another `size`) with a badge throughout (kept when
    already there)."""
    import generate_videos as gv

    if path.is_file():
        return path
    width, height = size
    badge = gv.Badge(size=44)
    patch = gv.badge_patch(badge)
    origin = gv.badge_origin(width, height, patch, badge.corner)
    return gv.write_clip(path, width=width, height=height, fps=FPS, seconds=SECONDS,
                         label_at=lambda t: origin, patch=patch,
                         encoder_options={"preset": "veryfast", "b": BITRATE,
                                          "maxrate": BITRATE, "bufsize": "10M"},
                         threads=os.cpu_count() or 1)


def make_one_slice_clip(source: Path, path: Path) -> Path:
    """`source` re-encoded by ffmpeg's CLI with the same settings: its x264 uses frame threads,
    so every frame is one slice (PyAV's encoder, which wrote `source`, uses slice threads, and
    a decoder can spread a frame's slices over cores, not a single slice)."""
    if not path.is_file():
        subprocess.run(["ffmpeg", "-v", "error", "-nostdin", "-y", "-i", str(source), "-c:v",
                        "libx264", "-preset", "veryfast", "-b:v", BITRATE, "-maxrate", BITRATE,
                        "-bufsize", "10M", str(path)], check=True)
    return path


def make_camera_clip(path: Path) -> Path:
    """The 60 s 1080p30 clip made like real footage (kept when already there): RGB frames piped
    to ffmpeg's CLI, libx264 ``medium`` (its default preset) at 5 Mbit/s, default GOP, frame
    threads (one slice per frame). x264's output is deterministic for the same input."""
    return encode_with_ffmpeg(path, camera_frames(), (WIDTH, HEIGHT), [
        "-c:v", "libx264", "-preset", "medium", "-b:v", BITRATE, "-maxrate", BITRATE,
        "-bufsize", "10M", "-pix_fmt", "yuv420p"])


def encode_with_ffmpeg(path: Path, frames, size: tuple[int, int], output: list[str],
                       inputs: tuple[str, ...] = ()) -> Path:
    """`path` written by ffmpeg's CLI from the RGB `frames` (a generator, of `size`, at `FPS`)
    piped to it, plus `inputs`, with the `output` options (kept when already there)."""
    if path.is_file():
        return path
    tmp = path.with_name(path.name + ".part" + path.suffix)
    width, height = size
    encoder = subprocess.Popen(
        ["ffmpeg", "-v", "error", "-nostdin", "-y", "-f", "rawvideo", "-pix_fmt", "rgb24", "-s",
         f"{width}x{height}", "-r", str(FPS), "-i", "-", *inputs, *output, str(tmp)],
        stdin=subprocess.PIPE)
    for frame in frames:
        encoder.stdin.write(frame.tobytes())
    encoder.stdin.close()
    if encoder.wait():
        raise RuntimeError(f"ffmpeg failed encoding {path.name}")
    tmp.replace(path)
    return path


def camera_frames():
    """The scenery of `make_clip` with camera-like detail: a fine texture panning 3 px a frame
    (foliage, fabric) and film grain that changes every frame, the badge drawn on top."""
    import generate_videos as gv

    rng = np.random.default_rng(CAMERA_SEED)
    scenery = gv.Scenery(WIDTH, HEIGHT, seed=4242)
    texture = rng.normal(0, TEXTURE_SIGMA, (HEIGHT, 2 * WIDTH)).astype(np.int16)
    grain = rng.normal(0, GRAIN_SIGMA, (HEIGHT + 64, WIDTH + 64)).astype(np.int16)
    badge = gv.Badge(size=44)
    patch = gv.badge_patch(badge)
    origin = gv.badge_origin(WIDTH, HEIGHT, patch, badge.corner)
    for n in range(SECONDS * FPS):
        frame = scenery.frame(n / FPS, SECONDS).astype(np.int16)
        pan = (3 * n) % WIDTH
        dy, dx = rng.integers(0, 64, 2)
        frame += texture[:, pan:pan + WIDTH, None]
        frame += grain[dy:dy + HEIGHT, dx:dx + WIDTH, None]
        frame = np.clip(frame, 0, 255).astype(np.uint8)
        gv.draw_badge(frame, patch, origin)
        yield frame


def make_phone_clip(path: Path, labelled: bool) -> Path:
    """The 85 s 640x480 phone MOV (kept when already there): a handheld camera (a slow wander
    plus shake) over a detailed scene, film grain, H.264 `high` with a keyframe every second
    and no B-frames as phone encoders write, 4 Mbit/s, AAC audio; with `labelled` an "AI
    generated" badge (18 px) in the top-right corner throughout. Frames piped to ffmpeg's CLI."""
    return encode_with_ffmpeg(
        path, phone_frames(labelled), PHONE_SIZE,
        ["-c:v", "libx264", "-preset", "veryfast", "-profile:v", "high", "-g", str(FPS), "-bf",
         "0", "-b:v", "4M", "-pix_fmt", "yuv420p", "-c:a", "aac", "-t", str(PHONE_SECONDS)],
        inputs=("-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100"))


def phone_frames(labelled: bool):
    """Frames of `make_phone_clip`: a window wandering over a scene three frames wide and two
    high, shaken by a few pixels each frame, with grain."""
    import cv2

    import generate
    import generate_videos as gv

    width, height = PHONE_SIZE
    rng = np.random.default_rng(PHONE_SEED)
    scene = generate.make_scene(3 * width, 2 * height, seed=99, grain=1.5).astype(np.int16)
    detail = cv2.GaussianBlur(rng.normal(0, 28, scene.shape[:2]).astype(np.float32), (0, 0),
                              1.2) * 2
    scene = np.clip(scene + detail[:, :, None].astype(np.int16), 0, 255).astype(np.uint8)
    patch = gv.badge_patch(gv.Badge(size=18))
    origin = gv.badge_origin(width, height, patch, "tr")
    for n in range(PHONE_SECONDS * FPS):
        t = n / FPS
        shake_x, shake_y = rng.normal(0, 4, 2)
        x = int(np.clip((2 * width - 8) * (0.5 + 0.5 * np.sin(t / 5)) + shake_x, 0, 2 * width))
        y = int(np.clip((height - 8) * (0.5 + 0.5 * np.sin(t / 4)) + shake_y, 0, height))
        frame = scene[y:y + height, x:x + width].astype(np.int16)
        frame = np.clip(frame + rng.normal(0, 5, (height, width, 1)).astype(np.int16), 0, 255)
        frame = frame.astype(np.uint8)
        if labelled:
            gv.draw_badge(frame, patch, origin)
        yield frame


def long_benchmark(repeat: int) -> int:
    """Step 6: the phone MOV with and without its label, and the vertical clip: FFmpeg's
    decode and the full scan, each scan against its clip's duration."""
    clips = [(make_phone_clip(OUT / "phone_85s_640x480_label.mov", True), PHONE_SECONDS, True),
             (make_phone_clip(OUT / "phone_85s_640x480_nolabel.mov", False), PHONE_SECONDS,
              False),
             (make_clip(OUT / "video_60s_1080x1920.mp4", VERTICAL_SIZE), SECONDS, True)]
    print(f"\nLong and vertical clips; {cpu_model()}, {os.cpu_count()} cores\n")
    labelcheck_scan(clips[0][0])  # the OCR models loaded
    for clip, seconds, labelled in clips:
        size_mb = clip.stat().st_size / 1e6
        print(f"\n{clip.name}: {seconds} s, {size_mb:.1f} MB\n")
        table([("ffmpeg -i clip -f null - (decode every frame)",
                lambda clip=clip: ffmpeg_decode(clip)),
               ("labelcheck scan, in-process (models loaded)",
                lambda clip=clip, labelled=labelled: labelcheck_scan(clip, labelled))],
              repeat, seconds)
        print_scan_summary(clip, labelled)
    return 0


def table(rows, repeat: int, seconds: float = SECONDS) -> None:
    """Time each (name, run) row; the first row is the reference of the ratio column;
    `seconds` is the clip's duration (the "x real time" column)."""
    print("| run | wall s | CPU s | x real time | wall / ffmpeg | load avg |\n|---|---:|---:|"
          "---:|---:|---:|")
    reference = None
    for name, run in rows:
        wall, cpu, load = timed(run, repeat)
        reference = reference or wall
        print(f"| {name} | {wall:.2f} | {cpu:.2f} | {seconds / wall:.1f}x | "
              f"{wall / reference:.2f} | {load:.2f} |", flush=True)


def timed(run, repeat: int) -> tuple[float, float, float]:
    """Best wall seconds of `repeat` runs, the CPU seconds of that run, and the load average."""
    best = None
    for _ in range(repeat):
        load = os.getloadavg()[0]
        start_cpu = _cpu()
        start = time.perf_counter()
        run()
        wall, cpu = time.perf_counter() - start, _cpu() - start_cpu
        if best is None or wall < best[0]:
            best = (wall, cpu, load)
    return best


def _cpu() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def ffmpeg_decode(path: Path) -> None:
    subprocess.run(["ffmpeg", "-v", "error", "-nostdin", "-i", str(path), "-f", "null", "-"],
                   check=True)


def labelcheck_scan(path: Path, labelled: bool = True) -> dict:
    from labelcheck import scan

    report = scan(path, policy="default")
    assert report.timeline is not None, report.summary
    assert bool(report.timeline["intervals"]) is labelled, report.summary
    return report.to_dict()


def labelcheck_cli(path: Path) -> None:
    subprocess.run([sys.executable, "-m", "labelcheck.cli.main", "scan", str(path), "--no-store",
                    "--format", "json", "--out", os.devnull], check=True,
                   env={**os.environ, "PYTHONPATH": str(ROOT)})


def naive(path: Path) -> int:
    """Decode every frame; OCR the first frame of every second. Returns the seconds labelled."""
    import av

    from labelcheck.sources.visible_label import read_labels

    labelled, next_second = 0, 0.0
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        for frame in container.decode(stream):
            if frame.time is not None and frame.time >= next_second:
                labelled += bool(read_labels(frame.to_ndarray(format="rgb24")))
                next_second += 1.0
    return labelled


def camera_benchmark(repeat: int) -> int:
    """Step 5: FFmpeg's decode, the scan (in-process and CLI) and the naive baseline on the
    camera-like clip."""
    clip = make_camera_clip(OUT / "video_60s_1080p30_camera.mp4")
    size_mb = clip.stat().st_size / 1e6
    print(f"\nCamera-like clip {clip.name} (libx264 medium, one slice per frame): {size_mb:.1f} MB "
          f"({size_mb * 8 / SECONDS:.1f} Mbit/s); {cpu_model()}, {os.cpu_count()} cores\n")
    labelcheck_scan(clip)  # the OCR models loaded
    table(timed_rows(clip), repeat)
    print_scan_summary(clip)
    return 0


def timed_rows(clip: Path) -> list:
    """The four timed runs on `clip`, FFmpeg's decode first (the ratio's reference)."""
    return [("ffmpeg -i clip.mp4 -f null - (decode every frame)", lambda: ffmpeg_decode(clip)),
            ("labelcheck scan, in-process (models loaded)", lambda: labelcheck_scan(clip)),
            ("labelcheck scan, CLI cold start", lambda: labelcheck_cli(clip)),
            ("naive: decode every frame, OCR 1 frame/s", lambda: naive(clip))]


def print_scan_summary(clip: Path, labelled: bool = True) -> None:
    """What the scan read of `clip` and the label timeline it found."""
    report = labelcheck_scan(clip, labelled)
    frames = next(f for f in report["findings"] if f["code"] == "video.frames_read")
    print(f"\nlabelcheck: {frames['message']}; timeline {report['timeline']['intervals']}")


PEAK_SCRIPT = """
import sys
sys.path.insert(0, {root!r})
mode, path = sys.argv[1], sys.argv[2]
if mode == "scan":
    from labelcheck import scan
    report = scan(path)
    assert report.timeline["intervals"], report.summary
else:
    from labelcheck.formats.media import Media
    from labelcheck.sources.video_frames import read_frames
    read_frames(Media.open(path))
# VmHWM, not ru_maxrss: the latter keeps the parent's size from before exec
status = open("/proc/self/status").read()
print(int(status.split("VmHWM:")[1].split()[0]) // 1024)
"""


def peak_rss_mb(mode: str, path: Path) -> int:
    """Peak resident memory (MB) of a fresh process running `mode` on `path`."""
    done = subprocess.run([sys.executable, "-c", PEAK_SCRIPT.format(root=str(ROOT)), mode,
                           str(path)], check=True, capture_output=True, text=True)
    return int(done.stdout.strip().splitlines()[-1])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--skip-memory", action="store_true")
    parser.add_argument("--camera-only", action="store_true",
                        help="only the camera-like clip (step 5)")
    parser.add_argument("--long-only", action="store_true",
                        help="only the phone MOV and the vertical clip (step 6)")
    args = parser.parse_args(argv)
    OUT.mkdir(parents=True, exist_ok=True)
    if args.camera_only:
        return camera_benchmark(args.repeat)
    if args.long_only:
        return long_benchmark(args.repeat)
    clip = make_clip(OUT / "video_60s_1080p30.mp4")
    size_mb = clip.stat().st_size / 1e6
    print(f"# Video frames benchmark\n\n{cpu_model()}, {os.cpu_count()} cores, "
          f"Python {platform.python_version()}; clip {clip.name}: {SECONDS} s {WIDTH}x{HEIGHT} "
          f"{FPS} fps H.264, {size_mb:.1f} MB ({size_mb * 8 / SECONDS:.1f} Mbit/s)\n")
    labelcheck_scan(clip)  # loads the OCR models once, as a batch worker has them
    table(timed_rows(clip), args.repeat)
    print_scan_summary(clip)
    one_slice = make_one_slice_clip(clip, OUT / "video_60s_1080p30_one_slice.mp4")
    print("\nThe same clip encoded by ffmpeg's CLI (x264 frame threads: one slice per frame)\n")
    table([("ffmpeg -i clip.mp4 -f null -", lambda: ffmpeg_decode(one_slice)),
           ("labelcheck scan, in-process", lambda: labelcheck_scan(one_slice))], args.repeat)
    camera_benchmark(args.repeat)
    long_benchmark(args.repeat)
    if args.skip_memory:
        return 0
    import generate_videos as gv

    long_clip = gv.repeat_clip(clip, OUT / "video_10min_1080p30.mp4", LOOPS)
    print("\n| peak RSS, fresh process | 60 s clip | 10 min clip |\n|---|---:|---:|")
    for mode, name in (("scan", "full scan (`labelcheck.scan`, video read from disk)"),
                       ("frames", "frame analysis alone (sampler + label timeline)")):
        print(f"| {name} | {peak_rss_mb(mode, clip)} MB | {peak_rss_mb(mode, long_clip)} MB |",
              flush=True)
    print(f"\nLoad average at the end: {os.getloadavg()[0]:.2f}; 10 min clip "
          f"{long_clip.stat().st_size / 1e6:.0f} MB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
