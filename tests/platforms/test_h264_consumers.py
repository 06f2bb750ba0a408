"""The H.264 stream through what Home Assistant builds on `stream_source()`: HLS, recording, HomeKit.

Each test runs the real thing: HA's `stream` integration (PyAV) playing the hub's URL as HLS and
recording it with `camera.record`, HomeKit Bridge's own camera code starting its ffmpeg against the
URL, and go2rtc's rules for detecting what an HTTP source serves (internal/http/http.go and
pkg/magic, pkg/mpegts of AlexxIT/go2rtc, restated here) applied to what the URL sends. The camera
is the simulator's test pattern with its frame number stamped into the pixels, so a decoded picture
says which frame it is.
"""

from __future__ import annotations

import asyncio
import base64
from collections import Counter
import contextlib
from dataclasses import dataclass, field
import io
import itertools
import json
import os
from pathlib import Path
import socket
import struct
from typing import Any
import uuid

import aiohttp
import av
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from homeassistant.components.camera import CameraEntityFeature
from homeassistant.components.stream.const import ATTR_STREAMS, DOMAIN as STREAM_DOMAIN
from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
from PIL import Image
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.typing import (
    ClientSessionGenerator,
    WebSocketGenerator,
)
from yarl import URL

from esp32_simulator.jpeg import read_frame_stamp
from tests.helpers import ENTITY, wait_for

SWITCH = "switch.esp32_camera_cam1_h_264_stream"
QVGA = 3  # the simulator's resolution index: 320x240 (the stamp fits; encoding stays cheap)
FPS = 20
TS_PACKET = 188
TS_SYNC = 0x47
STREAM_TYPE_H264 = 0x1B
NAL_IDR, NAL_SPS, NAL_PPS = 5, 7, 8


@pytest.fixture
async def streaming_camera(hass: HomeAssistant, hub_entry: MockConfigEntry, simulate: Any) -> Any:
    """The hub with ffmpeg and stream loaded, cam1 streaming stamped frames, its H.264 switched on."""
    assert await async_setup_component(hass, "ffmpeg", {})
    assert await async_setup_component(hass, "stream", {})
    assert await hass.config_entries.async_setup(hub_entry.entry_id)
    camera = await simulate(resolution=QVGA, fps=FPS, stamp_frames=True, mode="speed")
    await wait_for(lambda: (state := hass.states.get(SWITCH)) and state.state == "off", 10)
    await hass.services.async_call("switch", "turn_on", {"entity_id": SWITCH}, blocking=True)
    await wait_for(
        lambda: (
            hass.states.get(ENTITY).attributes["supported_features"]  # type: ignore[union-attr]
            & CameraEntityFeature.STREAM
        )
    )
    return camera


def stamps(pictures: list[Image.Image]) -> list[int]:
    """The frame numbers stamped into decoded pictures (every picture must carry one)."""
    numbers = [read_frame_stamp(picture) for picture in pictures]
    assert None not in numbers, numbers
    return [number for number in numbers if number is not None]


def decode(data: bytes, container: str | None = None) -> list[Image.Image]:
    """Decode every video frame of `data` with PyAV (Home Assistant's stream library)."""
    with av.open(io.BytesIO(data), format=container) as media:
        return [frame.to_image() for frame in media.decode(video=0)]


def assert_advancing(numbers: list[int], minimum: int) -> None:
    """At least `minimum` frames, numbered upward (the simulator's frames, none twice)."""
    assert len(numbers) >= minimum, numbers
    assert all(b > a for a, b in itertools.pairwise(numbers)), numbers


# HLS through Home Assistant's stream integration ------------------------------------------------


def playlist_uris(playlist: str) -> list[str]:
    """The URIs of an m3u8 playlist (its lines that are not tags), and the EXT-X-MAP's."""
    uris = [line for line in playlist.splitlines() if line and not line.startswith("#")]
    maps = [
        line.split('URI="', 1)[1].split('"', 1)[0]
        for line in playlist.splitlines()
        if line.startswith("#EXT-X-MAP:")
    ]
    return maps + uris


async def test_camera_stream_plays_through_home_assistants_hls(
    hass: HomeAssistant,
    streaming_camera: Any,
    hass_ws_client: WebSocketGenerator,
    hass_client: ClientSessionGenerator,
) -> None:
    ws = await hass_ws_client(hass)
    await ws.send_json({"id": 1, "type": "camera/stream", "entity_id": ENTITY})
    reply = await ws.receive_json()
    assert reply["success"], reply
    master_url = URL(reply["result"]["url"])
    assert master_url.path.endswith("/master_playlist.m3u8")
    client = await hass_client()
    # The master playlist answers once the stream has two segments (HA's HLS view waits).
    async with asyncio.timeout(60):
        master = await client.get(str(master_url))
    assert master.status == 200, await master.text()
    assert master.content_type == "application/vnd.apple.mpegurl"
    (media_path,) = playlist_uris(await master.text())
    playlist = await client.get(str(master_url.join(URL(media_path))))
    assert playlist.status == 200
    init_path, *segment_paths = playlist_uris(await playlist.text())
    assert init_path.endswith("init.mp4")
    assert segment_paths, await playlist.text()
    init = await (await client.get(str(master_url.join(URL(init_path))))).read()
    segment = await client.get(str(master_url.join(URL(segment_paths[0]))))
    assert segment.status == 200
    # A segment is fragmented MP4 after the init section: PyAV decodes them as one file.
    pictures = decode(init + await segment.read(), "mp4")
    assert pictures[0].size == (320, 240)
    numbers = stamps(pictures)
    assert_advancing(numbers, FPS)  # a segment holds at least a second
    # Every frame the camera took in that time, but for a few the hub may skip while ffmpeg is busy.
    assert len(numbers) >= 0.9 * (numbers[-1] - numbers[0] + 1), numbers
    # The player leaves: HA's stream stops reading (the hub's transcoder then stops too).
    for stream in hass.data[STREAM_DOMAIN][ATTR_STREAMS]:
        for output in stream.outputs().values():
            output.idle_timer.clear()  # HA's player idle timeout (30 s), which stop() leaves
        await stream.stop()


async def test_camera_record_writes_an_h264_mp4_of_the_requested_length(
    hass: HomeAssistant, streaming_camera: Any, tmp_path: Path
) -> None:
    target = tmp_path / "recording.mp4"
    await hass.services.async_call(
        "camera",
        "record",
        {"entity_id": ENTITY, "filename": str(target), "duration": 5, "lookback": 0},
        blocking=True,
    )
    # The recorder writes the file when the recording ends (the duration, then the last segment).
    await wait_for(lambda: target.exists() and target.stat().st_size > 0, 60)
    probe = await ffprobe(target)
    (video,) = probe["streams"]
    assert video["codec_name"] == "h264"
    duration = float(probe["format"]["duration"])
    frames = int(video["nb_read_frames"])
    # At least the requested length, cut at the keyframe (every 2 s) after it.
    assert 5.0 <= duration <= 5.0 + 2.5, probe["format"]
    numbers = stamps(decode(target.read_bytes()))
    assert len(numbers) == frames
    assert_advancing(numbers, 1)
    # The frames the camera took from the first to the last (their stamps count them), within
    # 10 % (the hub hands over the newest frame only when ffmpeg is busy).
    sent = numbers[-1] - numbers[0] + 1
    assert abs(frames - sent) <= 0.1 * sent, (frames, sent)


async def ffprobe(path: Path) -> dict[str, Any]:
    """ffprobe's description of a file's video stream (every frame counted) and format."""
    process = await asyncio.create_subprocess_exec(
        "ffprobe",
        *("-v", "error", "-count_frames", "-select_streams", "v"),
        *("-show_entries", "stream=codec_name,nb_read_frames:format=duration"),
        *("-of", "json", str(path)),
        stdout=asyncio.subprocess.PIPE,
    )
    output, _ = await process.communicate()
    assert process.returncode == 0
    result: dict[str, Any] = json.loads(output)
    return result


# HomeKit Bridge -------------------------------------------------------------------------------

# The "iPhone": a multicast group on this host. HomeKit's command binds its local RTP port to the
# receiver's port number (localrtpport), which a receiver on the same host's unicast address would
# hold already; ffmpeg shares the port of a multicast destination (SO_REUSEADDR), so the group is
# the one place on this machine where HomeKit's unchanged command and a receiver both fit.
IPHONE_GROUP = "239.255.42.21"
SRTP_AUTH_TAG = 10  # AES_CM_128_HMAC_SHA1_80


def _aes_ctr(key: bytes, counter: int, length: int) -> bytes:
    encryptor = Cipher(algorithms.AES(key), modes.CTR(counter.to_bytes(16, "big"))).encryptor()
    return encryptor.update(bytes(length)) + encryptor.finalize()


def srtp_session_keys(master_key: bytes, master_salt: bytes) -> tuple[bytes, bytes]:
    """The session's encryption key and salt (RFC 3711 4.3.1, key derivation rate 0)."""
    salt = int.from_bytes(master_salt, "big")
    return _aes_ctr(master_key, salt << 16, 16), _aes_ctr(master_key, ((2 << 48) ^ salt) << 16, 14)


@dataclass(frozen=True)
class RtpPacket:
    """An RTP packet's header fields and its decrypted payload."""

    payload_type: int
    ssrc: int
    payload: bytes

    @property
    def nal_type(self) -> int:
        """The H.264 NAL unit type it carries (RFC 6184: single, STAP-A's first, FU-A's)."""
        nal = self.payload[0] & 0x1F
        if nal == 24:  # STAP-A: a 2-byte size, then the first NAL unit
            return self.payload[3] & 0x1F
        if nal == 28:  # FU-A: the FU header holds the type
            return self.payload[1] & 0x1F
        return nal


def srtp_decrypt(packet: bytes, key: bytes, salt: bytes) -> RtpPacket:
    """Decrypt an SRTP packet's payload (RFC 3711 4.1.1; the first 65536 packets: ROC 0)."""
    first, second, sequence, _, ssrc = struct.unpack("!BBHII", packet[:12])
    payload_start = 12 + 4 * (first & 0x0F)
    encrypted = packet[payload_start:-SRTP_AUTH_TAG]
    counter = (int.from_bytes(salt, "big") << 16) ^ (ssrc << 64) ^ (sequence << 16)
    stream = _aes_ctr(key, counter, len(encrypted))
    return RtpPacket(
        second & 0x7F, ssrc, bytes(a ^ b for a, b in zip(encrypted, stream, strict=True))
    )


class Datagrams(asyncio.DatagramProtocol):
    """Keeps every datagram received."""

    def __init__(self) -> None:
        self.received: list[bytes] = []

    def datagram_received(self, data: bytes, addr: tuple[str | Any, int]) -> None:
        self.received.append(data)


def iphone_socket() -> socket.socket:
    """A UDP socket on a free port, a member of IPHONE_GROUP (sharing the port, as ffmpeg does)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("0.0.0.0", 0))  # a multicast member listens on the group's port, any address
    membership = struct.pack("4s4s", socket.inet_aton(IPHONE_GROUP), socket.inet_aton("0.0.0.0"))
    sock.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, membership)
    return sock


async def test_homekit_bridge_streams_h264_rtp_from_the_stream_source(
    hass: HomeAssistant, streaming_camera: Any, tmp_path: Path
) -> None:
    from homeassistant.components.homekit.accessories import HomeDriver
    from homeassistant.components.homekit.iidmanager import AccessoryIIDStorage
    from homeassistant.components.homekit.type_cameras import Camera as HomeKitCamera

    # HomeKit Bridge's driver as it builds it, without its HAP server and mDNS (never started).
    iid_storage = AccessoryIIDStorage(hass, "homekit")
    await iid_storage.async_initialize()
    driver = HomeDriver(
        hass,
        "homekit",
        "HASS Bridge",
        "HASS Bridge",
        iid_storage,
        pincode=b"123-45-678",
        address="127.0.0.1",
        port=0,
        loop=hass.loop,
        persist_file=str(tmp_path / "homekit.state"),
    )
    accessory = HomeKitCamera(hass, driver, "Camera", ENTITY, 2, {})
    sock = iphone_socket()
    port = sock.getsockname()[1]
    transport, iphone = await hass.loop.create_datagram_endpoint(Datagrams, sock=sock)
    master_key, master_salt = os.urandom(16), os.urandom(14)
    video_ssrc = 0x5EED
    # What pyhap hands start_stream after the iPhone's SetupEndpoints and its selected
    # configuration (pyhap/camera.py: the session's fields, then the chosen video and audio).
    session_info = {
        "id": uuid.uuid4(),
        "stream_idx": 0,
        "address": IPHONE_GROUP,
        "v_port": port,
        "v_srtp_key": base64.b64encode(master_key + master_salt).decode(),
        "v_ssrc": video_ssrc,
        "a_port": port + 1,
        "a_srtp_key": base64.b64encode(os.urandom(30)).decode(),
        "a_ssrc": 0xA0D10,
    }
    accessory.sessions[session_info["id"]] = session_info  # as pyhap's SetupEndpoints keeps it
    stream_config = {
        **session_info,
        "v_profile_id": b"\x01",
        "v_level": b"\x02",
        "width": 640,
        "height": 480,
        "fps": 30,
        "v_payload_type": b"\x63",
        "v_max_bitrate": 299,
        "v_max_mtu": 1378,
        "a_sample_rate": 16,
        "a_max_bitrate": 24,
        "a_packet_time": 20,
    }
    try:
        assert await accessory.start_stream(session_info, stream_config)
        await wait_for(lambda: len(iphone.received) >= 100, 30)
    finally:
        await accessory.stop_stream(session_info)
        transport.close()
    key, salt = srtp_session_keys(master_key, master_salt)
    video = [
        srtp_decrypt(datagram, key, salt)
        for datagram in iphone.received
        if datagram[1] & 0x7F == 99  # RTP of payload type 99, as HomeKit's command declares
    ]
    assert len(video) >= 100
    assert {packet.ssrc for packet in video} == {video_ssrc}
    nal_types = Counter(packet.nal_type for packet in video)
    # H.264 once decrypted: parameter sets, a keyframe, and slices (types 1-23 are H.264's own).
    assert nal_types[NAL_SPS], nal_types
    assert nal_types[NAL_IDR], nal_types
    assert set(nal_types) <= set(range(1, 24)), nal_types


# go2rtc ---------------------------------------------------------------------------------------


class Go2rtcRefusalError(Exception):
    """go2rtc's http source would refuse the stream (its own message where it has one)."""


def go2rtc_http_producer(status: int, content_type: str, path: str, head: bytes) -> str:
    """The producer go2rtc's `http` source opens (internal/http/http.go `do`, pkg/magic `Open`).

    A 200 answer; then the Content-Type (before any `;`) or the path's extension for HLS, a
    single JPEG, multipart MJPEG and PCM; otherwise the first bytes: four (an H.264 start code,
    RIFF, YUV4), three (FLV), two (JPEG, AAC, a multipart boundary), one (the MPEG-TS sync byte).
    """
    if status != 200:
        raise Go2rtcRefusalError(f"status {status}")
    media_type = content_type.split(";", 1)[0]
    name = path.rsplit("/", 1)[-1]
    if media_type == "application/vnd.apple.mpegurl" or name.endswith(".m3u8"):
        return "hls"
    by_type = {"image/jpeg": "image", "multipart/x-mixed-replace": "mpjpeg", "audio/basic": "pcm"}
    if media_type in by_type:
        return by_type[media_type]
    by_four = {b"\x00\x00\x00\x01": "bitstream", b"RIFF": "wav", b"YUV4": "y4m"}
    by_two = {b"\xff\xd8": "mjpeg", b"\xff\xf1": "aac", b"\xff\xf9": "aac", b"--": "mpjpeg"}
    if (producer := by_four.get(head[:4])) is not None:
        return producer
    if head[:3] == b"FLV":
        return "flv"
    if (producer := by_two.get(head[:2])) is not None:
        return producer
    if head[:1] == bytes([TS_SYNC]):
        return "mpegts"
    raise Go2rtcRefusalError(f"magic: unsupported header: {head[:4].hex()}")


@dataclass
class TsProbe:
    """What go2rtc's MPEG-TS probe finds: the PMT's stream types, the first H.264 access unit's."""

    stream_types: list[int] = field(default_factory=list)
    first_nal_types: list[int] = field(default_factory=list)


def annexb_nal_types(stream: bytes) -> list[int]:
    """The NAL unit types of an Annex B byte stream, in order."""
    types = []
    position = stream.find(b"\x00\x00\x01")
    while position >= 0 and position + 3 < len(stream):
        types.append(stream[position + 3] & 0x1F)
        position = stream.find(b"\x00\x00\x01", position + 3)
    return types


def go2rtc_mpegts_probe(data: bytes) -> TsProbe:
    """Read MPEG-TS as go2rtc's probe does (pkg/mpegts producer.go `probe`, demuxer.go).

    Every 188-byte packet must begin with the sync byte (else "mpegts: wrong sync byte", which
    ends the source); packets before the PAT and the PMT are skipped; then the PMT's H.264 stream
    is awaited and its first whole PES packet (an access unit) gives the codec's parameters.
    """
    probe = TsProbe()
    pmt_pid = video_pid = None
    pes = bytearray()
    for offset in range(0, len(data) - TS_PACKET + 1, TS_PACKET):
        packet = data[offset : offset + TS_PACKET]
        if packet[0] != TS_SYNC:
            raise Go2rtcRefusalError(f"mpegts: wrong sync byte (packet at {offset})")
        start = bool(packet[1] & 0x40)
        pid = (packet[1] & 0x1F) << 8 | packet[2]
        payload = packet[4:]
        if packet[3] & 0x20:  # an adaptation field first
            if packet[4] > TS_PACKET - 6:
                raise Go2rtcRefusalError("mpegts: wrong adaptation size")
            payload = packet[5 + packet[4] :]
        if pid == 0 and start and pmt_pid is None:
            section = payload[1 + payload[0] :]
            pmt_pid = (section[10] & 0x1F) << 8 | section[11]
        elif pid == pmt_pid and start and video_pid is None:
            section = payload[1 + payload[0] :]
            end = 3 + ((section[1] & 0x0F) << 8 | section[2]) - 4  # before the CRC
            position = 12 + ((section[10] & 0x0F) << 8 | section[11])
            while position < end:
                stream_type = section[position]
                probe.stream_types.append(stream_type)
                if stream_type == STREAM_TYPE_H264:
                    video_pid = (section[position + 1] & 0x1F) << 8 | section[position + 2]
                position += 5 + ((section[position + 3] & 0x0F) << 8 | section[position + 4])
        elif pid == video_pid:
            if start and pes:
                break  # the next PES begins: the first is whole
            if start:
                pes.extend(payload[9 + payload[8] :])  # after the PES header
            elif pes:
                pes.extend(payload)
    probe.first_nal_types = annexb_nal_types(bytes(pes))
    return probe


async def read_head(
    url: URL, size: int, headers: dict[str, str] | None = None
) -> tuple[Any, bytes]:
    """GET `url` as go2rtc does (Go's client: the URL's user information as Basic auth)."""
    auth = aiohttp.BasicAuth(url.user or "", url.password or "") if url.user else None
    async with (
        aiohttp.ClientSession() as session,
        session.get(url.with_user(None), auth=auth, headers=headers) as response,
    ):
        data = bytearray()
        async with asyncio.timeout(30):
            while response.status == 200 and len(data) < size:
                chunk = await response.content.read(size - len(data))
                if not chunk:
                    break
                data.extend(chunk)
        return response, bytes(data)


async def test_go2rtc_detects_the_stream_source_as_mpegts_with_h264(
    hass: HomeAssistant, streaming_camera: Any
) -> None:
    from homeassistant.components.camera import async_get_stream_source

    source = await async_get_stream_source(hass, ENTITY)
    assert source is not None
    url = URL(source)
    # HA's go2rtc integration hands the source over as is ("#" would cut it: go2rtc's options).
    assert url.scheme == "http"
    assert "#" not in source
    response, head = await read_head(url, 64 * 1024)
    producer = go2rtc_http_producer(
        response.status, response.headers.get("Content-Type", ""), url.path, head
    )
    assert producer == "mpegts"
    probe = go2rtc_mpegts_probe(head)
    assert probe.stream_types == [STREAM_TYPE_H264]
    # The first access unit a new reader gets is a keyframe with its parameter sets, from which
    # go2rtc takes the codec's profile (and WebRTC its sprop-parameter-sets).
    assert {NAL_SPS, NAL_PPS, NAL_IDR} <= set(probe.first_nal_types), probe
    # So does a reader that joins while another has read for seconds (go2rtc reconnecting, or a
    # second consumer): it starts at a keyframe, on a TS packet boundary.
    first_reader = asyncio.create_task(read_head(url, 1 << 30))
    await asyncio.sleep(3)
    joined, joined_head = await read_head(url, 64 * 1024)
    first_reader.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await first_reader
    assert go2rtc_http_producer(joined.status, joined.content_type, url.path, joined_head) == (
        "mpegts"
    )
    joined_probe = go2rtc_mpegts_probe(joined_head)
    assert joined_probe.stream_types == [STREAM_TYPE_H264]
    assert {NAL_SPS, NAL_PPS, NAL_IDR} <= set(joined_probe.first_nal_types), joined_probe
    # Without the credential go2rtc gets 401, with a Basic challenge, which it cannot answer
    # (its client answers Digest only): no stream, never a picture.
    refused, _ = await read_head(url.with_user(None), 1)
    assert refused.status == 401
    with pytest.raises(Go2rtcRefusalError):
        go2rtc_http_producer(refused.status, refused.headers.get("Content-Type", ""), url.path, b"")
