package attnc.front;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

/**
 * Reads a .attn file as UTF-8, and says why it could not in words a user acts on: the byte
 * offset of text that is not UTF-8, a missing file, a folder, a file one may not read.
 */
final class SourceText {
    private SourceText() {}

    /** A file larger than this is not a pattern (and would only exhaust memory). */
    static final long MAX_BYTES = 16 << 20;

    static String read(Path file) throws IOException {
        if (Files.isDirectory(file)) throw new IOException("it is a folder; expected a .attn file");
        long size = Files.size(file);
        if (size > MAX_BYTES) throw new IOException("it has " + size + " bytes; expected a pattern file under " + (MAX_BYTES >> 20) + " MiB");
        byte[] bytes = Files.readAllBytes(file);
        var decoder = StandardCharsets.UTF_8.newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT).onUnmappableCharacter(CodingErrorAction.REPORT);
        ByteBuffer in = ByteBuffer.wrap(bytes);
        var out = java.nio.CharBuffer.allocate(bytes.length);
        var result = decoder.decode(in, out, true);
        if (result.isError()) throw new IOException("not UTF-8 at byte " + in.position() + "; expected a UTF-8 text file");
        decoder.flush(out);
        return out.flip().toString();
    }

    /** The reason an {@link IOException} gives, without Java's class names. */
    static String reason(IOException e) {
        return switch (e) {
            case NoSuchFileException x -> "no such file";
            case AccessDeniedException x -> "permission denied";
            case CharacterCodingException x -> "not UTF-8; expected a UTF-8 text file";
            default -> e.getMessage() == null ? "unreadable" : e.getMessage();
        };
    }
}
