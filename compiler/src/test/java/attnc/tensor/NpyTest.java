package attnc.tensor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import attnc.ir.DType;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Every malformed .npy is an IOException naming the file and what was expected; nothing else escapes. */
class NpyTest {
    @TempDir
    Path temp;

    static byte[] npy(String descr, String shape, byte[] data) {
        StringBuilder header = new StringBuilder("{'descr': '" + descr + "', 'fortran_order': False, 'shape': (" + shape + "), }");
        while ((10 + header.length() + 1) % 64 != 0) header.append(' ');
        header.append('\n');
        ByteBuffer b = ByteBuffer.allocate(10 + header.length() + data.length).order(ByteOrder.LITTLE_ENDIAN);
        b.put(new byte[] {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0}).putShort((short) header.length());
        b.put(header.toString().getBytes(StandardCharsets.ISO_8859_1)).put(data);
        return b.array();
    }

    private String refused(byte[] bytes) throws IOException {
        Path file = temp.resolve("x.npy");
        Files.write(file, bytes);
        return assertThrows(IOException.class, () -> Npy.read(file)).getMessage().replace(file.toString(), "x.npy");
    }

    @Test
    void truncatedDataSaysHowShort() throws IOException {
        assertEquals("x.npy: the data is shorter than its header says (expected 24 bytes, found 20)",
                refused(npy("<f4", "2, 3", new byte[20])));
        assertEquals("x.npy: the data is longer than its header says (expected 24 bytes, found 28)",
                refused(npy("<f4", "2, 3", new byte[28])));
    }

    @Test
    void headersThatDoNotParseAreNamed() throws IOException {
        assertTrue(refused("plain text".getBytes(StandardCharsets.UTF_8)).startsWith("x.npy: not a .npy file"));
        assertTrue(refused(new byte[0]).startsWith("x.npy: not a .npy file"));
        assertEquals("x.npy: malformed .npy header: shape (2, -3) has '-3'; expected sizes from 0 to 2147483647",
                refused(npy("<f4", "2, -3", new byte[0])));
        assertTrue(refused(npy("<f4", "99999999999", new byte[0])).contains("has '99999999999'"));
        assertTrue(refused(npy("<c8", "2", new byte[16])).contains("dtype <c8 is not supported"));
        byte[] cut = Arrays.copyOf(npy("<f4", "2", new byte[8]), 12);
        assertTrue(refused(cut).startsWith("x.npy: the header says it is"), refused(cut));
    }

    @Test
    void float64IsConvertedAndSaidOnce() throws IOException {
        ByteBuffer data = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putDouble(0.5).putDouble(-2);
        Path file = temp.resolve("v.npy");
        Files.write(file, npy("<f8", "2,", data.array()));
        List<String> notes = new ArrayList<>();
        Tensor t = Npy.read(file, notes::add);
        assertEquals(DType.FLOAT32, t.dtype());
        assertArrayEquals(new float[] {0.5f, -2f}, t.floats());
        assertEquals(List.of("v.npy: float64 converted to float32"), notes);
    }

    @Test
    void int64BeyondInt32IsRefused() throws IOException {
        ByteBuffer data = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putLong(7).putLong(1L << 40);
        assertEquals("x.npy: int64 value 1099511627776 at flat index 1 does not fit in int32", refused(npy("<i8", "2,", data.array())));
    }
}
