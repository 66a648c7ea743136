package attnc.tensor;

import attnc.ir.DType;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * NumPy .npy files (format 1.0/2.0/3.0, little-endian, C order): float32, float16, float64 (read
 * as float32), int32, int64 (read as int32), bool; bfloat16 is not a NumPy type, so bfloat16 tensors are written as float32.
 */
public final class Npy {
    private static final byte[] MAGIC = {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y'};
    private static final Pattern DESCR = Pattern.compile("'descr'\\s*:\\s*'([^']+)'");
    private static final Pattern ORDER = Pattern.compile("'fortran_order'\\s*:\\s*(True|False)");
    private static final Pattern SHAPE = Pattern.compile("'shape'\\s*:\\s*\\(([^)]*)\\)");

    private Npy() {}

    public static Tensor read(Path path) throws IOException {
        return read(path, note -> {});
    }

    /**
     * Reads a .npy file; every way a file can be wrong (not .npy, a header that does not parse,
     * an unsupported dtype, data shorter or longer than the header says, int64 values beyond
     * int32) is an {@link IOException} whose message names the file and says what was expected.
     * float64 data is converted to float32; {@code notes} hears that once per file.
     */
    public static Tensor read(Path path, java.util.function.Consumer<String> notes) throws IOException {
        long fileSize = Files.size(path);
        if (fileSize > attnc.launch.Memory.MAX_ARRAY) {
            throw new IOException(path + ": " + attnc.launch.Memory.human(fileSize) + " is more than one file read here may hold (2 GiB)");
        }
        attnc.launch.Memory.require(2 * fileSize, "reading " + path);
        byte[] bytes = Files.readAllBytes(path);
        if (bytes.length < MAGIC.length + 4 || !java.util.Arrays.equals(bytes, 0, MAGIC.length, MAGIC, 0, MAGIC.length)) {
            throw new IOException(path + ": not a .npy file (it does not start with \\x93NUMPY); expected a file written by numpy.save");
        }
        ByteBuffer in = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).position(MAGIC.length);
        int major = in.get();
        in.get();
        if (major < 1 || major > 3) throw new IOException(path + ": .npy format version " + major + " is not supported; expected 1, 2 or 3");
        if (major > 1 && bytes.length < MAGIC.length + 6) throw new IOException(path + ": the header is cut short");
        long headerLength = major == 1 ? Short.toUnsignedInt(in.getShort()) : Integer.toUnsignedLong(in.getInt());
        if (headerLength > bytes.length - in.position()) {
            throw new IOException(path + ": the header says it is " + headerLength + " bytes long but only "
                    + (bytes.length - in.position()) + " bytes follow");
        }
        String header = new String(bytes, in.position(), (int) headerLength, major == 3 ? StandardCharsets.UTF_8 : StandardCharsets.ISO_8859_1);
        in.position(in.position() + (int) headerLength);
        String descr = group(DESCR, header, path);
        if (group(ORDER, header, path).equals("True")) throw new IOException(path + ": Fortran order is not supported; save with C order (np.ascontiguousarray)");
        int[] shape = shape(group(SHAPE, header, path), path);
        long count = attnc.launch.Memory.elements(path.toString(), java.util.Arrays.stream(shape).asLongStream().toArray());
        int width = switch (descr) {
            case "<f8", "<i8" -> 8;
            case "<f4", "<i4" -> 4;
            case "<f2" -> 2;
            case "|b1", "|u1" -> 1;
            default -> throw new IOException(path + ": dtype " + descr + " is not supported; expected float32 (<f4), float16 (<f2), "
                    + "float64 (<f8, converted), int32 (<i4), int64 (<i8) or bool (|b1), little-endian: in numpy, "
                    + ".astype(np.float32) or .astype(np.int32)");
        };
        long expected = count * width, found = bytes.length - in.position();
        if (found < expected) {
            throw new IOException(path + ": the data is shorter than its header says (expected " + expected + " bytes, found " + found + ")");
        }
        if (found > expected) {
            throw new IOException(path + ": the data is longer than its header says (expected " + expected + " bytes, found " + found + ")");
        }
        int n = (int) count;
        switch (descr) {
            case "<f4" -> {
                float[] data = new float[n];
                in.asFloatBuffer().get(data);
                return Tensor.ofFloats(DType.FLOAT32, shape, data);
            }
            case "<f8" -> {
                notes.accept(path.getFileName() + ": float64 converted to float32");
                float[] data = new float[n];
                for (int i = 0; i < n; i++) data[i] = (float) in.getDouble();
                return Tensor.ofFloats(DType.FLOAT32, shape, data);
            }
            case "<f2" -> {
                float[] data = new float[n];
                for (int i = 0; i < n; i++) data[i] = Float.float16ToFloat(in.getShort());
                return Tensor.ofFloats(DType.FLOAT16, shape, data);
            }
            case "<i4" -> {
                int[] data = new int[n];
                in.asIntBuffer().get(data);
                return Tensor.ofInts(DType.INT32, shape, data);
            }
            case "<i8" -> {
                int[] data = new int[n];
                for (int i = 0; i < n; i++) {
                    long value = in.getLong();
                    if (value != (int) value) {
                        throw new IOException(path + ": int64 value " + value + " at flat index " + i + " does not fit in int32");
                    }
                    data[i] = (int) value;
                }
                return Tensor.ofInts(DType.INT32, shape, data);
            }
            default -> {
                int[] data = new int[n];
                for (int i = 0; i < n; i++) data[i] = in.get();
                return Tensor.ofInts(DType.BOOL, shape, data);
            }
        }
    }

    private static int[] shape(String text, Path path) throws IOException {
        List<Integer> dims = new ArrayList<>();
        for (String d : text.split(",")) {
            if (d.isBlank()) continue;
            try {
                int dim = Integer.parseInt(d.trim());
                if (dim < 0) throw new NumberFormatException();
                dims.add(dim);
            } catch (NumberFormatException e) {
                throw new IOException(path + ": malformed .npy header: shape (" + text + ") has '" + d.trim() + "'; expected sizes from 0 to 2147483647");
            }
        }
        return dims.stream().mapToInt(Integer::intValue).toArray();
    }

    public static void write(Path path, Tensor tensor) throws IOException {
        String descr = switch (tensor.dtype()) {
            case FLOAT32, BFLOAT16 -> "<f4";
            case FLOAT16 -> "<f2";
            case INT32 -> "<i4";
            case BOOL -> "|b1";
        };
        StringBuilder shape = new StringBuilder();
        for (int d : tensor.shape()) shape.append(d).append(", ");
        if (tensor.rank() > 1) shape.setLength(shape.length() - 2);
        StringBuilder header = new StringBuilder("{'descr': '" + descr + "', 'fortran_order': False, 'shape': (" + shape + "), }");
        while ((MAGIC.length + 4 + header.length() + 1) % 64 != 0) header.append(' ');
        header.append('\n');
        int width = tensor.dtype() == DType.BOOL ? 1 : tensor.dtype() == DType.FLOAT16 ? 2 : 4;
        ByteBuffer out = ByteBuffer.allocate(MAGIC.length + 4 + header.length() + tensor.size() * width).order(ByteOrder.LITTLE_ENDIAN);
        out.put(MAGIC).put((byte) 1).put((byte) 0).putShort((short) header.length());
        out.put(header.toString().getBytes(StandardCharsets.ISO_8859_1));
        for (int i = 0; i < tensor.size(); i++) {
            switch (tensor.dtype()) {
                case FLOAT32, BFLOAT16 -> out.putFloat((float) tensor.getDouble(i));
                case FLOAT16 -> out.putShort(Float.floatToFloat16((float) tensor.getDouble(i)));
                case INT32 -> out.putInt(tensor.getInt(i));
                case BOOL -> out.put((byte) tensor.getInt(i));
            }
        }
        Files.write(path, out.array());
    }

    private static String group(Pattern pattern, String header, Path path) throws IOException {
        Matcher m = pattern.matcher(header);
        if (!m.find()) {
            String shown = header.strip().replaceAll("\\p{Cntrl}", "?");
            throw new IOException(path + ": malformed .npy header: " + (shown.length() > 80 ? shown.substring(0, 80) + "..." : shown)
                    + "; expected {'descr': ..., 'fortran_order': ..., 'shape': (...)}");
        }
        return m.group(1);
    }
}
