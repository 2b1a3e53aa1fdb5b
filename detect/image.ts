/**
 * Image files as the detector reads them, like OpenCV's `cv2.imread(path)` (`IMREAD_COLOR`) in the
 * original's extraction: JPEG (baseline, progressive, grayscale, CMYK/YCCK) through `jpeg-js`, PNG (any bit
 * depth, palette, grayscale, alpha) through `pngjs`, 3 colour channels out (alpha dropped, grayscale
 * replicated), the EXIF orientation of a JPEG applied (read with `exifr`). A file that is neither, or that
 * does not decode, is an error naming it ({@linkcode ImageDecodeError}).
 *
 * Pixel values can differ slightly from OpenCV's (libjpeg's IDCT and upsampling, its CMYK conversion); the
 * detector's input is otherwise the same.
 *
 * @module
 */
import jpeg from "jpeg-js";
import * as pngjs from "pngjs";
import exifr from "exifr";
import { Buffer } from "node:buffer";

/** The part of pngjs used here (its synchronous reader; RGBA, 8 bits per channel). */
interface PngSync {
  read(data: Uint8Array): { width: number; height: number; data: Uint8Array };
}
const PNG_SYNC = (pngjs as unknown as { PNG: { sync: PngSync } }).PNG.sync;

/** An 8-bit RGB image: `data` is `[height, width, 3]`. */
export interface RgbImage {
  width: number;
  height: number;
  data: Uint8Array;
}

/** An image file that cannot be decoded (names the file). */
export class ImageDecodeError extends Error {
  override name = "ImageDecodeError";
}

/** Largest image accepted, in pixels (the decoders' memory stays bounded). */
export const MAX_PIXELS = 100_000_000;

function isJpeg(b: Uint8Array): boolean {
  return b.length > 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff;
}

function isPng(b: Uint8Array): boolean {
  return b.length > 8 && b[0] === 0x89 && b[1] === 0x50 && b[2] === 0x4e && b[3] === 0x47;
}

function rgbaToRgb(rgba: Uint8Array, width: number, height: number): RgbImage {
  const data = new Uint8Array(width * height * 3);
  for (let i = 0, o = 0; o < data.length; i += 4, o += 3) {
    data[o] = rgba[i]!;
    data[o + 1] = rgba[i + 1]!;
    data[o + 2] = rgba[i + 2]!;
  }
  return { width, height, data };
}

/**
 * Apply EXIF orientation `o` (1..8): the stored pixels turned and flipped so that the image is upright.
 */
export function orient(img: RgbImage, o: number): RgbImage {
  if (!(o >= 2 && o <= 8)) return img;
  const { width: w, height: h, data } = img, swap = o >= 5;
  const W = swap ? h : w, H = swap ? w : h, out = new Uint8Array(W * H * 3);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      let sx: number, sy: number;
      switch (o) {
        case 2:
          [sx, sy] = [w - 1 - x, y];
          break;
        case 3:
          [sx, sy] = [w - 1 - x, h - 1 - y];
          break;
        case 4:
          [sx, sy] = [x, h - 1 - y];
          break;
        case 5:
          [sx, sy] = [y, x];
          break;
        case 6:
          [sx, sy] = [y, h - 1 - x];
          break;
        case 7:
          [sx, sy] = [w - 1 - y, h - 1 - x];
          break;
        default:
          [sx, sy] = [w - 1 - y, x];
          break;
      }
      const s = (sy * w + sx) * 3, d = (y * W + x) * 3;
      out[d] = data[s]!;
      out[d + 1] = data[s + 1]!;
      out[d + 2] = data[s + 2]!;
    }
  }
  return { width: W, height: H, data: out };
}

/** The EXIF orientation of a JPEG (1 when absent or unreadable: a damaged EXIF block does not stop the image). */
export async function exifOrientation(bytes: Uint8Array): Promise<number> {
  try {
    const o = await exifr.orientation(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
    return typeof o === "number" ? o : 1;
  } catch {
    return 1;
  }
}

/** Decode a JPEG or PNG file's bytes (`name` for messages). */
export async function decodeImage(bytes: Uint8Array, name: string): Promise<RgbImage> {
  const fail = (why: string): never => {
    throw new ImageDecodeError(`Cannot decode image "${name}": ${why}`);
  };
  let img: RgbImage | undefined;
  if (isJpeg(bytes)) {
    let d: { width: number; height: number; data: Uint8Array } | undefined;
    try {
      d = jpeg.decode(bytes, {
        useTArray: true,
        formatAsRGBA: true,
        tolerantDecoding: false,
        maxResolutionInMP: MAX_PIXELS / 1e6,
        maxMemoryUsageInMB: 2048,
      });
    } catch (e) {
      fail(`not a readable JPEG (${(e as Error).message ?? e})`);
    }
    if (!d || !(d.width > 0 && d.height > 0)) fail("JPEG without pixels");
    img = orient(rgbaToRgb(d!.data, d!.width, d!.height), await exifOrientation(bytes));
  } else if (isPng(bytes)) {
    let p: { width: number; height: number; data: Uint8Array } | undefined;
    try {
      p = PNG_SYNC.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
    } catch (e) {
      fail(`not a readable PNG (${(e as Error).message ?? e})`);
    }
    if (!p || !(p.width > 0 && p.height > 0)) fail("PNG without pixels");
    if (p!.width * p!.height > MAX_PIXELS) fail(`${p!.width}x${p!.height} is over ${MAX_PIXELS} pixels`);
    img = rgbaToRgb(p!.data, p!.width, p!.height);
  } else {
    fail("not a JPEG or PNG file");
  }
  return img!;
}

/** Read and decode an image file (see {@linkcode decodeImage}). */
export async function readImage(path: string): Promise<RgbImage> {
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch (e) {
    throw new ImageDecodeError(`Cannot read image "${path}": ${(e as Error).message}`);
  }
  return await decodeImage(bytes, path);
}
