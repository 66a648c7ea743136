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
 * NumPy .npy files (format 1.0/2.0, little-endian, C order): float32, float16, int32, int64 (read
 * as int32), bool; bfloat16 is not a NumPy type, so bfloat16 tensors are written as float32.
 */
public final class Npy {
    private static final byte[] MAGIC = {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y'};
    private static final Pattern DESCR = Pattern.compile("'descr'\\s*:\\s*'([^']+)'");
    private static final Pattern ORDER = Pattern.compile("'fortran_order'\\s*:\\s*(True|False)");
    private static final Pattern SHAPE = Pattern.compile("'shape'\\s*:\\s*\\(([^)]*)\\)");

    private Npy() {}

    public static Tensor read(Path path) throws IOException {
        byte[] bytes = Files.readAllBytes(path);
        ByteBuffer in = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        for (byte b : MAGIC) if (in.get() != b) throw new IOException(path + " is not a .npy file");
        int major = in.get();
        in.get();
        int headerLength = major == 1 ? Short.toUnsignedInt(in.getShort()) : in.getInt();
        String header = new String(bytes, in.position(), headerLength, StandardCharsets.ISO_8859_1);
        in.position(in.position() + headerLength);
        String descr = group(DESCR, header, path);
        if (group(ORDER, header, path).equals("True")) throw new IOException(path + ": Fortran order is not supported; save with C order");
        List<Integer> dims = new ArrayList<>();
        for (String d : group(SHAPE, header, path).split(",")) if (!d.isBlank()) dims.add(Integer.parseInt(d.trim()));
        int[] shape = dims.stream().mapToInt(Integer::intValue).toArray();
        int n = Math.toIntExact(Tensor.elementCount(shape));
        switch (descr) {
            case "<f4" -> {
                float[] data = new float[n];
                in.asFloatBuffer().get(data);
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
                for (int i = 0; i < n; i++) data[i] = Math.toIntExact(in.getLong());
                return Tensor.ofInts(DType.INT32, shape, data);
            }
            case "|b1", "|u1" -> {
                int[] data = new int[n];
                for (int i = 0; i < n; i++) data[i] = in.get();
                return Tensor.ofInts(DType.BOOL, shape, data);
            }
            default -> throw new IOException(path + ": dtype " + descr + " is not supported; expected <f4, <f2, <i4, <i8 or |b1");
        }
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
        if (!m.find()) throw new IOException(path + ": malformed .npy header: " + header.trim());
        return m.group(1);
    }
}
