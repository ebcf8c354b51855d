"""What Python's sentencepiece makes of the texts and id sequences in a JSON request.

Run with Debian's /usr/bin/python3 (python3-sentencepiece) by tokenizer_test.cpp:
    spm_reference.py REQUEST.json > ANSWER.json
REQUEST: {"model": PATH, "texts": [str], "id_sequences": [[int]]}
ANSWER:  {"vocab_size": int, "bos": int, "eos": int, "pad": int, "unk": int,
          "pieces": [str] (by id), "encoded": [[int]] (texts, no bos/eos),
          "decoded": [str] (id_sequences)}
"""
import json
import sys

import sentencepiece


def main():
    with open(sys.argv[1], encoding="utf-8") as f:
        request = json.load(f)
    sp = sentencepiece.SentencePieceProcessor(model_file=request["model"])
    answer = {
        "vocab_size": sp.get_piece_size(),
        "bos": sp.bos_id(),
        "eos": sp.eos_id(),
        "pad": sp.pad_id(),
        "unk": sp.unk_id(),
        "pieces": [sp.id_to_piece(i) for i in range(sp.get_piece_size())],
        "encoded": [sp.encode(text) for text in request["texts"]],
        "decoded": [sp.decode(ids) for ids in request["id_sequences"]],
    }
    json.dump(answer, sys.stdout, ensure_ascii=False)


if __name__ == "__main__":
    main()
