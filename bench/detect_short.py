#!/usr/bin/env python3
"""Charset detection on short unlabelled text: how often mimeutf8 reads back a line or a few
sentences of 13 language/charset pairs exactly (the Latin-script ones have only a few bytes above
0x7F, where detection has least to go on).

  python3 bench/detect_short.py [--build DIR] [--seeds 1 2 3]

Each seed writes 60 messages per pair (1 to 10 sentences, no charset label), normalizes them with
-o, and reads each output with Python's email package and a strict UTF-8 decoder.  Prints, per
seed, the exact count per pair and the total.  Python 3 standard library only.
"""
import argparse
import email
import email.policy
import json
import os
import random
import subprocess
import sys
import tempfile

S = {
 "tr": ("cp1254", ["Artık bu konuda konuşmak istemiyorum, lütfen beni anlayın.", "Arşivimize eklediğimiz belgeleri inceleyebilirsiniz.",
        "Yarın sabah toplantı için ofiste olacağım, görüşmek üzere.", "Şirketimizin yıllık raporu ekte gönderilmiştir.",
        "Güzel bir gün geçirmenizi dileriz, teşekkür ederiz.", "Bu mesajı yanlışlıkla aldıysanız lütfen silin.",
        "Öğrencilerin sınav sonuçları haftaya açıklanacak.", "Işık hızında çalışan bir ekibiz, değil mi?"]),
 "lt": ("iso8859-13", ["Labai ačiū už jūsų laišką, atsakysiu rytoj.", "Susitikimas įvyks pirmadienį devintą valandą ryto.",
        "Prašome užpildyti šią formą ir grąžinti iki penktadienio.", "Mūsų įmonė džiaugiasi galėdama jums padėti.",
        "Žiemą čia būna labai šalta ir snieguota.", "Ačiū, kad pasirinkote mūsų paslaugas."]),
 "lv": ("cp1257", ["Paldies par jūsu vēstuli, es atbildēšu rīt.", "Sanāksme notiks pirmdien deviņos no rīta.",
        "Lūdzu, aizpildiet šo veidlapu un nosūtiet līdz piektdienai.", "Mūsu uzņēmums priecājas jums palīdzēt.",
        "Ziemā šeit ir ļoti auksts un sniegots.", "Ģimene dzīvo laukos, tālu no pilsētas."]),
 "el": ("iso8859-7", ["Καλημέρα σας, ευχαριστώ για το μήνυμά σας.", "Η συνάντηση θα γίνει τη Δευτέρα στις εννέα το πρωί.",
        "Άνοιξη είναι η ωραιότερη εποχή του χρόνου.", "Παρακαλούμε συμπληρώστε τη φόρμα και επιστρέψτε την.",
        "Ό,τι χρειαστείτε, είμαστε εδώ για να βοηθήσουμε.", "Έχουμε στείλει τα έγγραφα στο γραφείο σας."]),
 "el1253": ("cp1253", ["Καλημέρα σας, ευχαριστώ για το μήνυμά σας.", "Η συνάντηση θα γίνει τη Δευτέρα στις εννέα το πρωί.",
        "Άνοιξη είναι η ωραιότερη εποχή του χρόνου.", "Παρακαλούμε συμπληρώστε τη φόρμα – και επιστρέψτε την.",
        "Ό,τι χρειαστείτε, είμαστε εδώ για να βοηθήσουμε…", "Έχουμε στείλει τα “έγγραφα” στο γραφείο σας."]),
 "is": ("cp1252", ["Þakka þér fyrir bréfið, ég svara á morgun.", "Fundurinn verður á mánudaginn klukkan níu.",
        "Vinsamlegast fyllið út þetta eyðublað og skilið því.", "Fyrirtækið okkar er ánægt að geta hjálpað þér.",
        "Það er mjög kalt hér á veturna og mikill snjór.", "Góðan daginn, hvernig hefur þú það?"]),
 "fr": ("cp1252", ["Merci beaucoup pour votre message, je réponds demain.", "La réunion aura lieu lundi à neuf heures.",
        "Veuillez remplir ce formulaire et le renvoyer avant vendredi.", "Notre société est ravie de pouvoir vous aider.",
        "L’hiver est très froid ici, avec beaucoup de neige.", "Ça fait longtemps, où êtes-vous ?"]),
 "de": ("cp1252", ["Vielen Dank für Ihre Nachricht, ich antworte morgen.", "Die Besprechung findet am Montag um neun Uhr statt.",
        "Bitte füllen Sie dieses Formular aus und schicken Sie es zurück.", "Unser Unternehmen freut sich, Ihnen zu helfen.",
        "Im Winter ist es hier sehr kalt, mit viel Schnee.", "Grüße aus Köln und schöne Feiertage."]),
 "es": ("cp1252", ["Muchas gracias por su mensaje, responderé mañana.", "La reunión será el lunes a las nueve.",
        "Por favor complete este formulario y devuélvalo antes del viernes.", "Nuestra compañía está encantada de ayudarle.",
        "¿Cómo está usted? ¡Qué alegría!", "En invierno hace mucho frío aquí."]),
 "pt": ("cp1252", ["Você já viu a questão da computação?", "Não sei se ele está em casa.", "Obrigado pela atenção e até amanhã.", "A reunião será às nove horas."]),
 "cs": ("iso8859-2", ["Děkuji za vaši zprávu, odpovím zítra.", "Schůzka bude v pondělí v devět hodin ráno.",
        "Prosím vyplňte tento formulář a vraťte jej do pátku.", "Naše společnost vám ráda pomůže.",
        "V zimě je tady velmi zima a hodně sněhu.", "Žluťoučký kůň úpěl ďábelské ódy."]),
 "pl": ("cp1250", ["Dziękuję za wiadomość, odpowiem jutro.", "Spotkanie odbędzie się w poniedziałek o dziewiątej.",
        "Proszę wypełnić ten formularz i odesłać go do piątku.", "Nasza firma chętnie państwu pomoże.",
        "Zimą jest tu bardzo zimno i dużo śniegu.", "Zażółć gęślą jaźń."]),
 "pl2": ("iso8859-2", ["Dziękuję za wiadomość, odpowiem jutro.", "Spotkanie odbędzie się w poniedziałek o dziewiątej.",
        "Proszę wypełnić ten formularz i odesłać go do piątku.", "Nasza firma chętnie państwu pomoże.",
        "Zimą jest tu bardzo zimno i dużo śniegu.", "Zażółć gęślą jaźń."]),
}


def make(seed, out):
    rng = random.Random(seed)
    key = []
    for lang, (codec, sents) in S.items():
        for i in range(60):
            n = rng.choice([1, 1, 2, 2, 3, 4, 6, 10])
            text = " ".join(rng.choice(sents) for _ in range(n)) + "\n"
            name = "%s-%03d.eml" % (lang, i)
            with open(os.path.join(out, name), "wb") as f:
                f.write(b"From: a@example.com\nSubject: test\nMIME-Version: 1.0\nContent-Type: text/plain\n"
                        b"Content-Transfer-Encoding: 8bit\n\n" + text.encode(codec))
            key.append((name, lang, text))
    return key


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    args = ap.parse_args()
    tool = os.path.join(args.build, "plugin", "mimeutf8")
    for seed in args.seeds:
        with tempfile.TemporaryDirectory() as work:
            src, dst = os.path.join(work, "in"), os.path.join(work, "out")
            os.makedirs(src)
            key = make(seed, src)
            subprocess.run([tool, "-q", "-o", dst] + [os.path.join(src, k[0]) for k in key], check=True)
            ok, total = {}, {}
            for name, lang, text in key:
                with open(os.path.join(dst, name), "rb") as f:
                    msg = email.message_from_binary_file(f, policy=email.policy.default)
                got = msg.get_payload(decode=True).decode("utf-8")
                total[lang] = total.get(lang, 0) + 1
                ok[lang] = ok.get(lang, 0) + (got == text)
            print("seed %d: %s; total %d/%d" % (seed, ", ".join("%s %d/%d" % (l, ok[l], total[l]) for l in total),
                                                sum(ok.values()), sum(total.values())))
    return 0


if __name__ == "__main__":
    sys.exit(main())
